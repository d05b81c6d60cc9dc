package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ArrowWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One output row per raw input record, for every reader: the bad-input corpus (CSV, TSV, JSONL,
 * a spoofed failure marker, bare CRs, invisible-only lines), ids in file order, a reader that
 * loses a row (exit 6), the byte cap, and Arrow IPC files damaged mid-way.
 */
class InputRecordsTest {
    static SparkSession spark;
    static final Path MODEL = TestPaths.sampleModel();
    static final Path BAD = TestPaths.repo().resolve("src/test/resources/bad-input");

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("InputRecordsTest")
                .set("spark.ui.showConsoleProgress", "false"))).getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @AfterEach
    void noArrowMemoryLeft() {
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated after the job");
    }

    /** Runs the job (greedy, jsonl out) and returns its exit code and rows. */
    private record Run(int rc, List<JsonNode> rows, String stderr) {
        Map<Long, JsonNode> byId() {
            return TranslateJobTest.byId(rows);
        }
    }

    private Run run(Path input, String format, String... extra) throws IOException {
        Path out = tmp.resolve("out-" + System.nanoTime());
        List<String> args = new ArrayList<>(List.of("--model", MODEL.toString(), "--input", input.toString(),
                "--input-format", format, "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1",
                "--max-error-rate", "1.0", "--max-output-tokens", "40"));
        args.addAll(Arrays.asList(extra));
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = TranslateJob.run(args.toArray(String[]::new));
        } finally {
            System.setErr(err);
        }
        String stderr = buf.toString(StandardCharsets.UTF_8);
        List<JsonNode> rows = Files.isDirectory(out) ? TranslateJobTest.readJsonl(out) : List.of();
        return new Run(rc, rows, stderr);
    }

    private static void assertRow(Map<Long, JsonNode> m, long id, String status, String... messageParts) {
        JsonNode r = m.get(id);
        assertNotNull(r, "no row with id " + id + " in " + m.values());
        String got = r.get("status").asText();
        if (status.equals("ok")) { // translated: a greedy run of this small model may stop at --max-output-tokens
            assertTrue(got.equals("ok") || got.equals("truncated"), r.toString());
        } else {
            assertEquals(status, got, r.toString());
        }
        for (String p : messageParts) {
            assertTrue(r.get("message").asText().contains(p), "message should contain \"" + p + "\": " + r);
        }
    }

    @Test
    void csvGivesOneRowPerRecordAndNamesTheLineOfEachBadOne() throws IOException {
        Run r = run(BAD.resolve("records.csv"), "csv");
        assertEquals(0, r.rc(), r.stderr());
        assertEquals(9, r.rows().size(), "9 records after the header: " + r.rows());
        Map<Long, JsonNode> m = r.byId();
        assertRow(m, 1, "ok");
        assertRow(m, 2, "ok");
        assertEquals("A quoted, comma \"and\" quotes", m.get(2L).get("source").asText());
        assertRow(m, -3, "empty");                                     // the blank line 4
        assertRow(m, 4, "ok");
        assertEquals("A field over\ntwo lines", m.get(4L).get("source").asText());
        assertRow(m, -5, "error", "records.csv", "line 7", "4 fields");  // too many fields
        assertRow(m, -6, "error", "records.csv", "line 8", "1 field");   // too few
        assertRow(m, -7, "error", "records.csv", "line 9", "quote");     // unbalanced quote
        assertRow(m, 8, "ok");                                         // the lines after it are still records
        assertEquals("this line must not vanish", m.get(8L).get("source").asText());
        assertRow(m, 9, "ok");
    }

    @Test
    void tsvGivesOneRowPerLine() throws IOException {
        Run r = run(BAD.resolve("records.tsv"), "tsv");
        assertEquals(0, r.rc(), r.stderr());
        assertEquals(6, r.rows().size(), r.rows().toString());
        Map<Long, JsonNode> m = r.byId();
        assertRow(m, 1, "ok");
        assertRow(m, -2, "empty");
        assertRow(m, 3, "ok");
        assertEquals("A \"quote\" is just a character", m.get(3L).get("source").asText());
        assertRow(m, -4, "error", "records.tsv", "line 5", "3 fields");
        assertRow(m, -5, "error", "records.tsv", "line 6", "1 field");
        assertRow(m, 6, "ok");
    }

    @Test
    void jsonlBlankLinesArraysAndScalarsEachGiveOneRow() throws IOException {
        Run r = run(BAD.resolve("arrays.jsonl"), "jsonl");
        assertEquals(0, r.rc(), r.stderr());
        assertEquals(8, r.rows().size(), r.rows().toString());
        Map<Long, JsonNode> m = r.byId();
        assertRow(m, 1, "ok");
        assertRow(m, -2, "empty");
        assertRow(m, -3, "error", "arrays.jsonl", "line 3", "array");
        assertRow(m, -4, "error", "arrays.jsonl", "line 4", "array");
        assertRow(m, -5, "error", "arrays.jsonl", "line 5", "not a JSON object");
        assertRow(m, 6, "error", "arrays.jsonl", "line 6", "text");
        assertRow(m, -7, "empty");
        assertRow(m, 8, "ok");
    }

    @Test
    void aLineThatLooksLikeTheFailureMarkerIsAnOrdinaryRow() throws IOException {
        Run r = run(BAD.resolve("nul-marker.txt"), "text", "--report", tmp.resolve("rep.json").toString());
        assertEquals(0, r.rc(), "the file was read to its end: " + r.stderr());
        assertEquals(2, r.rows().size());
        Map<Long, JsonNode> m = r.byId();
        assertFalse(m.get(0L).get("status").asText().equals("error"), m.get(0L).toString());
        assertTrue(m.get(0L).get("source").asText().startsWith("\u0000spark-nmt-unreadable\u0000"));
        JsonNode rep = new ObjectMapper().readTree(tmp.resolve("rep.json").toFile());
        assertEquals("translated", rep.get("inputs").get(0).get("outcome").asText(), rep.toString());
    }

    @Test
    void onlyLfAndCrLfEndALine() throws IOException {
        Run r = run(BAD.resolve("bare-cr.txt"), "text");
        assertEquals(0, r.rc(), r.stderr());
        Map<Long, JsonNode> m = r.byId();
        assertEquals(4, m.size(), r.rows().toString());
        assertEquals("A man\rin a hat.", m.get(0L).get("source").asText());
        assertEquals("A dog runs.", m.get(1L).get("source").asText()); // CRLF: the CR is part of the line end
        assertEquals("Two cats\r sleep.", m.get(2L).get("source").asText());
        assertEquals("The end.", m.get(3L).get("source").asText());   // a last line without LF
    }

    @Test
    void invisibleOnlyInputIsEmpty() throws IOException {
        Run r = run(BAD.resolve("invisible.txt"), "text");
        assertEquals(0, r.rc(), r.stderr());
        Map<Long, JsonNode> m = r.byId();
        assertEquals(7, m.size());
        for (long i = 0; i < 6; i++) {
            assertRow(m, i, "empty");
        }
        assertRow(m, 6, "ok");
    }

    @Test
    void generatedIdsFollowFileOrderAcrossFilesAndPartitions() throws IOException {
        Path jsonl = tmp.resolve("jsonl");
        Path csv = tmp.resolve("csv");
        Path text = tmp.resolve("text");
        Files.createDirectories(jsonl);
        Files.createDirectories(csv);
        Files.createDirectories(text);
        List<String> expect = new ArrayList<>();
        int[] sizes = {1, 3, 30, 2}; // later files are larger: Spark's scans pack the largest first
        for (int f = 0; f < sizes.length; f++) {
            StringBuilder j = new StringBuilder();
            StringBuilder c = new StringBuilder("text\n");
            StringBuilder t = new StringBuilder();
            for (int i = 0; i < sizes[f]; i++) {
                String s = "A dog number " + i + " of file " + (char) ('a' + f) + (f == 2 ? " runs through the grass" : "");
                expect.add(s);
                j.append("{\"text\": \"").append(s).append("\"}\n");
                c.append(s).append('\n');
                t.append(s).append('\n');
            }
            String name = String.valueOf((char) ('a' + f));
            Files.writeString(jsonl.resolve(name + ".jsonl"), j);
            Files.writeString(csv.resolve(name + ".csv"), c);
            Files.writeString(text.resolve(name + ".txt"), t);
        }
        for (Object[] c : new Object[][]{{jsonl, "jsonl"}, {csv, "csv"}, {text, "text"}}) {
            Run r = run((Path) c[0], (String) c[1], "--num-partitions", "3");
            assertEquals(0, r.rc(), r.stderr());
            Map<Long, JsonNode> m = r.byId();
            assertEquals(expect.size(), m.size());
            for (int i = 0; i < expect.size(); i++) {
                assertNotNull(m.get((long) i), c[1] + ": id " + i);
                assertEquals(expect.get(i), m.get((long) i).get("source").asText(), c[1] + ": id " + i);
            }
        }
    }

    @Test
    void aReaderThatLosesARowExitsWith6() throws IOException {
        System.setProperty("spark-nmt.test.drop-record", "3");
        Run r;
        try {
            r = run(TestPaths.repo().resolve("sample-data/corpus/en.txt"), "text", "--num-partitions", "2");
        } finally {
            System.clearProperty("spark-nmt.test.drop-record");
        }
        assertEquals(TranslateJob.EXIT_ROW_MISMATCH, r.rc(), r.stderr());
        assertTrue(r.stderr().contains("rows out (99) != rows in (100)"), r.stderr());
    }

    @Test
    void recordsOverTheByteCapAreErrorRowsWithABoundedPrefix() throws IOException {
        Path in = tmp.resolve("cap");
        Files.createDirectories(in);
        String longText = "A dog runs. ".repeat(40); // 480 bytes
        Files.writeString(in.resolve("a.txt"), "A short line.\n" + longText + "\nThe end.\n");
        Run t = run(in.resolve("a.txt"), "text", "--max-input-bytes", "200");
        assertEquals(0, t.rc(), t.stderr());
        Map<Long, JsonNode> m = t.byId();
        assertEquals(3, m.size());
        assertRow(m, 0, "ok");
        assertRow(m, 1, "error", "a.txt", "line 2", "480 bytes", "--max-input-bytes 200");
        assertTrue(m.get(1L).get("source").asText().length() <= 200, m.get(1L).toString());
        assertTrue(longText.startsWith(m.get(1L).get("source").asText()));
        assertRow(m, 2, "ok");

        Files.writeString(in.resolve("b.jsonl"), "{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2, \"text\": \"" + longText
                + "\"}\n{\"id\": 3, \"text\": \"The end.\"}\n");
        Run j = run(in.resolve("b.jsonl"), "jsonl", "--max-input-bytes", "200");
        assertEquals(0, j.rc(), j.stderr());
        m = j.byId();
        assertEquals(3, m.size(), j.rows().toString());
        assertRow(m, -2, "error", "b.jsonl", "line 2", "--max-input-bytes 200");
    }

    @Test
    void compressedFilesAreReadAndACorruptOneEndsInOneFailureRow() throws IOException {
        Path in = tmp.resolve("gz");
        Files.createDirectories(in);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            text.append("A dog number ").append(i).append(" runs through the grass.\n");
        }
        byte[] gz = gzip(text.toString().getBytes(StandardCharsets.UTF_8));
        Files.write(in.resolve("a-good.txt.gz"), gz);
        Files.write(in.resolve("b-broken.txt.gz"), Arrays.copyOf(gz, gz.length / 2));
        Path report = tmp.resolve("gz-report.json");
        Run r = run(in, "text", "--report", report.toString());
        assertEquals(TranslateJob.EXIT_INPUT_FILES, r.rc(), "rows in == rows out, and a file failed: " + r.stderr());
        long good = r.rows().stream().filter(x -> x.get("source_file").asText().endsWith("a-good.txt.gz")).count();
        assertEquals(400, good);
        List<JsonNode> broken = r.rows().stream().filter(x -> x.get("source_file").asText().endsWith("b-broken.txt.gz")).toList();
        List<JsonNode> failures = broken.stream().filter(x -> x.get("status").asText().equals("error")).toList();
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.get(0).get("message").asText().startsWith("input file unreadable: "), failures.toString());
        assertTrue(failures.get(0).get("message").asText().contains("b-broken.txt.gz"), failures.toString());
        assertTrue(broken.size() > 1, "the lines before the damage are kept: " + broken.size());
        JsonNode rep = new ObjectMapper().readTree(report.toFile());
        assertEquals(rep.get("rows_in").asLong(), rep.get("rows_out").asLong());
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream os = new java.util.zip.GZIPOutputStream(bos)) {
            os.write(b);
        }
        return bos.toByteArray();
    }

    @Test
    void arrowRowsBeforeADamagedBatchAreKept() throws IOException {
        Path in = tmp.resolve("arrow");
        Files.createDirectories(in);
        byte[] stream = arrowTokens(false, 3, 10);
        Files.write(in.resolve("a-stream.arrow"), Arrays.copyOf(stream, stream.length - 60)); // third batch cut
        byte[] file = arrowTokens(true, 3, 10);
        Files.write(in.resolve("b-file.arrow"), Arrays.copyOf(file, file.length * 3 / 4)); // footer and more gone
        Run r = run(in, "arrow");
        assertEquals(TranslateJob.EXIT_INPUT_FILES, r.rc(), r.stderr());
        List<JsonNode> errors = r.rows().stream().filter(x -> x.get("status").asText().equals("error")).toList();
        long good = r.rows().size() - errors.size();
        assertEquals(2, errors.size(), r.rows().toString());
        assertTrue(good >= 20 + 10, "rows of the intact batches are kept: " + good + " " + r.rows());
        JsonNode streamErr = errors.stream().filter(e -> e.get("message").asText().contains("a-stream.arrow"))
                .findFirst().orElseThrow();
        assertTrue(streamErr.get("message").asText().contains("batch 3"), streamErr.toString());
        // every id of the first two batches of the stream file is there
        long streamGood = r.rows().stream().filter(x -> x.get("status").asText().equals("ok")
                && x.get("source_file").asText().endsWith("a-stream.arrow")).count(); // token rows: their translations may be ok or truncated
        assertEquals(20, streamGood);
    }

    /** An IPC stream or file of {@code batches} batches of {@code rows} token rows (ids 1000 * batch + row). */
    static byte[] arrowTokens(boolean fileFormat, int batches, int rows) throws IOException {
        Schema schema = new Schema(List.of(
                new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
                new Field("tokens", FieldType.nullable(new ArrowType.List()),
                        List.of(new Field("item", FieldType.notNullable(new ArrowType.Int(32, true)), null)))));
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (BufferAllocator alloc = new RootAllocator();
             VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
             OutputStream os = bos;
             ArrowWriter w = fileFormat ? new ArrowFileWriter(root, null, Channels.newChannel(os))
                     : new ArrowStreamWriter(root, null, Channels.newChannel(os))) {
            w.start();
            BigIntVector id = (BigIntVector) root.getVector("id");
            ListVector tok = (ListVector) root.getVector("tokens");
            for (int b = 0; b < batches; b++) {
                root.clear();
                root.allocateNew();
                UnionListWriter lw = tok.getWriter();
                for (int i = 0; i < rows; i++) {
                    id.setSafe(i, 1000L * b + i);
                    lw.setPosition(i);
                    lw.startList();
                    for (int t : new int[]{38, 1550, 7, 0}) { // a few source pieces and </s>
                        lw.writeInt(t);
                    }
                    lw.endList();
                }
                root.setRowCount(rows);
                w.writeBatch();
            }
            w.end();
        }
        return bos.toByteArray();
    }
}
