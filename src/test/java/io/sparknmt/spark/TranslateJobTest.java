package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job end to end in Spark local mode, on the sample model. One session for the class. */
class TranslateJobTest {
    static SparkSession spark;
    static Translator engine;
    static final Path MODEL = TestPaths.sampleModel();
    static final Path CORPUS = TestPaths.repo().resolve("sample-data/corpus/en.txt");
    static final Path BAD_LINES = TestPaths.repo().resolve("src/test/resources/bad-input/lines.txt");
    static final Path BAD_RECORDS = TestPaths.repo().resolve("src/test/resources/bad-input/records.jsonl");

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("TranslateJobTest")
                .set("spark.ui.showConsoleProgress", "false"))).getOrCreate();
        engine = Translator.load(MODEL);
    }

    @AfterAll
    static void stop() {
        engine.close();
        spark.stop();
    }

    @AfterEach
    void noArrowMemoryLeft() {
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated after the job");
        assertTrue(ArrowUtils.rootAllocator().getChildAllocators().isEmpty(),
                () -> "open child allocators: " + ArrowUtils.rootAllocator().getChildAllocators());
    }

    static List<JsonNode> readJsonl(Path dir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        ObjectMapper m = new ObjectMapper();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    out.add(m.readTree(line));
                }
            }
        }
        return out;
    }

    static Map<Long, JsonNode> byId(List<JsonNode> rows) {
        Map<Long, JsonNode> m = new HashMap<>();
        for (JsonNode r : rows) {
            assertNull(m.put(r.get("id").asLong(), r), "duplicate id " + r.get("id"));
        }
        return m;
    }

    @Test
    void textToJsonlGreedyEqualsTheEngine() throws IOException {
        Path out = tmp.resolve("out");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--input-format", "text",
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1", "--num-partitions", "3",
                "--kernel-threads", "2");
        assertEquals(0, rc);
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8);
        Map<Long, JsonNode> got = byId(readJsonl(out));
        assertEquals(lines.size(), got.size());
        List<Translation> expect = engine.translate(lines, DecodeOptions.greedy(engine.generation().maxLength()), 64, 4096);
        for (int i = 0; i < lines.size(); i++) {
            JsonNode row = got.get((long) i);
            assertNotNull(row, "line " + i);
            assertEquals(lines.get(i), row.get("source").asText());
            assertEquals(expect.get(i).text(), row.get("translation").asText(), "line " + i);
            assertEquals("ok", row.get("status").asText(), "line " + i);
            assertEquals(expect.get(i).best().score(), row.get("score").asDouble(), 1e-9);
        }
    }

    /** --weights int8 / bf16 reach the executors: the job's rows are the engine's translations in that mode. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"int8", "bf16"})
    void optInWeightsAreTheEnginesTranslationsInThatMode(String mode) throws IOException {
        Path out = tmp.resolve(mode);
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--output", out.toString(),
                "--output-format", "jsonl", "--beam-size", "1", "--num-partitions", "2", "--weights", mode);
        assertEquals(0, rc);
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8);
        Map<Long, JsonNode> got = byId(readJsonl(out));
        assertEquals(lines.size(), got.size());
        List<Translation> expect;
        try (Translator opt = Translator.of(io.sparknmt.model.ModelBundle.load(MODEL),
                io.sparknmt.kernel.KernelProvider.get(), io.sparknmt.kernel.WeightFormat.parse(mode))) {
            expect = opt.translate(lines, DecodeOptions.greedy(engine.generation().maxLength()), 64, 4096);
        }
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(expect.get(i).text(), got.get((long) i).get("translation").asText(), "line " + i);
            assertEquals(expect.get(i).best().score(), got.get((long) i).get("score").asDouble(), 1e-9, "line " + i);
        }
    }

    @Test
    void badInputLinesEachGiveOneRowWithAStatus() throws IOException {
        Path out = tmp.resolve("bad");
        Path report = tmp.resolve("report.json");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", BAD_LINES.toString(),
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "2", "--max-input-tokens", "64",
                "--report", report.toString());
        // every row is written; the error rows are above the default --max-error-rate (0.01): exit 5
        assertEquals(TranslateJob.EXIT_ERROR_RATE, rc);
        List<byte[]> raw = splitLines(Files.readAllBytes(BAD_LINES));
        Map<Long, JsonNode> got = byId(readJsonl(out));
        assertEquals(raw.size(), got.size(), "rows in == rows out");
        for (long id = 0; id < raw.size(); id++) {
            JsonNode r = got.get(id);
            assertNotNull(r, "row " + id);
            String status = r.get("status").asText();
            String text = new String(raw.get((int) id), StandardCharsets.UTF_8);
            if (text.isBlank()) {
                assertEquals("empty", status, "row " + id);
            } else if (!validUtf8(raw.get((int) id))) {
                assertEquals("error", status, "row " + id);
                assertTrue(r.get("message").asText().contains("not valid UTF-8"), r.toString());
            } else if (text.length() > 10_000) {
                assertEquals("truncated", status, "row " + id);
                assertTrue(r.get("message").asText().contains("to 64 tokens"), r.toString());
                assertTrue(r.get("translation").asText().length() > 0);
            } else {
                assertTrue(status.equals("ok") || status.equals("truncated"), r.toString());
                assertTrue(r.hasNonNull("translation"), r.toString());
            }
        }
        JsonNode rep = new ObjectMapper().readTree(report.toFile());
        assertEquals(raw.size(), rep.get("rows_in").asLong());
        assertEquals(raw.size(), rep.get("rows_out").asLong());
    }

    @Test
    void malformedRecordsBecomeErrorRowsNotGaps() throws IOException {
        Path out = tmp.resolve("rec");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", BAD_RECORDS.toString(), "--input-format", "jsonl",
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1", "--max-error-rate", "1");
        assertEquals(0, rc);
        List<JsonNode> rows = readJsonl(out);
        assertEquals(Files.readAllLines(BAD_RECORDS).size(), rows.size());
        // one id is not an integer ("five"): every id is kept as its text, and no row is an error for it
        Map<String, JsonNode> m = new HashMap<>();
        for (JsonNode r : rows) {
            if (!r.get("id").isNull()) {
                assertTrue(r.get("id").isTextual(), r.toString());
                assertNull(m.put(r.get("id").asText(), r), r.toString());
            }
        }
        assertEquals("ok", m.get("1").get("status").asText());
        assertEquals("empty", m.get("2").get("status").asText());   // null text
        assertEquals("empty", m.get("3").get("status").asText());   // no text field
        assertEquals("ok", m.get("five").get("status").asText());   // a string id
        assertEquals("ok", m.get("6").get("status").asText());      // a number, read as text
        assertEquals("empty", m.get("7").get("status").asText());   // ""
        List<JsonNode> errors = rows.stream().filter(r -> r.get("status").asText().equals("error")).toList();
        assertEquals(1, errors.size(), "the malformed line: " + rows);
        assertTrue(errors.get(0).get("id").isNull(), "a record that cannot be parsed has no id: " + errors);
        assertTrue(errors.get(0).get("message").asText().contains("line 4"), errors.toString());
    }

    @Test
    void textOutputKeepsInputOrderAndLineCount() throws IOException {
        Path out = tmp.resolve("txt");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--output",
                out.toString(), "--output-format", "text", "--beam-size", "1", "--num-partitions", "4"));
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8);
        Path part;
        try (Stream<Path> s = Files.list(out)) {
            part = s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        List<String> got = Files.readAllLines(part, StandardCharsets.UTF_8);
        List<Translation> expect = engine.translate(lines, DecodeOptions.greedy(engine.generation().maxLength()), 64, 4096);
        assertEquals(lines.size(), got.size());
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(expect.get(i).text(), got.get(i), "line " + i);
        }
    }

    @Test
    void parquetWithNBest() {
        Path out = tmp.resolve("pq");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--output",
                out.toString(), "--beam-size", "3", "--n-best", "3"));
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(100, rows.size());
        for (Row r : rows) {
            List<Row> nb = r.getList(r.fieldIndex("n_best"));
            assertEquals(3, nb.size());
            assertEquals(r.getString(r.fieldIndex("translation")), nb.get(0).getString(0));
            assertTrue(nb.get(0).getDouble(1) >= nb.get(1).getDouble(1));
        }
    }

    @Test
    void usageErrorsAndMissingThingsHaveDistinctExitCodes() throws IOException {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString()));
            assertTrue(buf.toString(StandardCharsets.UTF_8).contains("--output"));
            assertEquals(2, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--output",
                    tmp.resolve("x").toString(), "--input-format", "docx"));
            assertEquals(3, TranslateJob.run("--model", tmp.resolve("nope").toString(), "--input", CORPUS.toString(),
                    "--output", tmp.resolve("y").toString()));
            Path badSpm = TestPaths.copySampleModel(tmp.resolve("bad-spm-model"));
            Files.writeString(badSpm.resolve("source.spm"), "garbage");
            assertEquals(3, TranslateJob.run("--model", badSpm.toString(), "--input", CORPUS.toString(),
                    "--output", tmp.resolve("v").toString()));
            assertTrue(buf.toString(StandardCharsets.UTF_8).contains("source.spm"));
            assertEquals(4, TranslateJob.run("--model", MODEL.toString(), "--input", tmp.resolve("none.txt").toString(),
                    "--output", tmp.resolve("z").toString()));
            assertEquals(2, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(),
                    "--output", tmp.resolve("w").toString(), "--target-lang", "qq"));
        } finally {
            System.setErr(err);
        }
    }

    @Test
    void outputIsCheckedBeforeTheModelAndNeverDeletesTheInput() throws IOException {
        // an existing output: refused before the model is even looked at (a missing model would be exit 3)
        Path existing = Files.createDirectories(tmp.resolve("existing"));
        assertEquals(2, TranslateJob.run("--model", tmp.resolve("no-model").toString(), "--input", CORPUS.toString(),
                "--output", existing.toString()));
        // --overwrite of a directory holding the input: refused, and the input is still there
        Path area = Files.createDirectories(tmp.resolve("area"));
        Path input = area.resolve("en.txt");
        Files.copy(CORPUS, input);
        assertEquals(2, TranslateJob.run("--model", MODEL.toString(), "--input", input.toString(),
                "--output", area.toString(), "--overwrite"));
        assertTrue(Files.exists(input), "--overwrite deleted the input");
        assertEquals(2, TranslateJob.run("--model", MODEL.toString(), "--input", input.toString(),
                "--output", MODEL.getParent().toString(), "--overwrite"));
        assertTrue(Files.exists(MODEL.resolve("config.json")));
    }

    @Test
    void exitCodesFollowTheProjectsOwnExceptionTypes() {
        assertEquals(TranslateJob.EXIT_FAILURE, TranslateJob.exitCodeOf(new NumberFormatException("inside Spark")));
        assertEquals(TranslateJob.EXIT_FAILURE, TranslateJob.exitCodeOf(new IllegalArgumentException("a library's")));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.exitCodeOf(new io.sparknmt.io.UsageException("bad option")));
        assertEquals(TranslateJob.EXIT_MODEL,
                TranslateJob.exitCodeOf(new io.sparknmt.model.ModelFormatException("bad model")));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(),
                "--output", tmp.resolve("r").toString(), "--max-error-rate", "1.5"));
    }

    @Test
    void executorTranslatorsOfOldBroadcastsAreClosedAndBuildFailuresRemembered() throws IOException {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        io.sparknmt.model.ModelBundle bundle = io.sparknmt.model.ModelBundle.load(MODEL);
        Broadcast<io.sparknmt.model.ModelBundle> first = jsc.broadcast(bundle);
        Broadcast<io.sparknmt.model.ModelBundle> second = jsc.broadcast(bundle);
        int before = ExecutorModels.cached();
        try {
            ExecutorModels.Lease a = ExecutorModels.acquire(first);
            ExecutorModels.Lease b = ExecutorModels.acquire(second); // first is still held by a running task
            assertEquals(before + 2, ExecutorModels.cached());
            a.close();
            b.close();
            ExecutorModels.acquire(second).close(); // the next task of the second job: first is idle, so closed
            assertEquals(before + 1, ExecutorModels.cached());
        } finally {
            ExecutorModels.release(first.id());
            ExecutorModels.release(second.id());
        }
        // a translator that cannot be built: the second task fails at once, with the first cause
        Path broken = TestPaths.copySampleModel(tmp.resolve("broken-spm"));
        Files.writeString(broken.resolve("target.spm"), "garbage");
        Broadcast<io.sparknmt.model.ModelBundle> bad = jsc.broadcast(io.sparknmt.model.ModelBundle.load(broken));
        try {
            RuntimeException firstFailure = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                    () -> ExecutorModels.acquire(bad));
            IllegalStateException again = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> ExecutorModels.acquire(bad));
            assertTrue(again.getMessage().contains("could not be built in this executor earlier"), again.getMessage());
            assertEquals(firstFailure, again.getCause());
        } finally {
            ExecutorModels.release(bad.id());
        }
    }

    @Test
    void reportGoesToAnyHadoopPath() throws IOException {
        Path in = tmp.resolve("three.txt");
        Files.write(in, Files.readAllLines(CORPUS).subList(0, 3));
        Path report = tmp.resolve("reports/run.json");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--output",
                tmp.resolve("out").toString(), "--beam-size", "1", "--report", "file://" + report));
        JsonNode rep = new ObjectMapper().readTree(report.toFile());
        assertEquals(3, rep.get("rows_in").asLong(), rep.toString());
    }

    @Test
    void confFileGivesDefaultsAndTheCommandLineWins() throws IOException {
        Path conf = tmp.resolve("nmt.conf");
        Files.writeString(conf, "spark.nmt.output-format jsonl\nspark.nmt.beam-size 1\nspark.nmt.max-output-tokens 3\n");
        Path out = tmp.resolve("conf");
        assertEquals(0, TranslateJob.run("--conf-file", conf.toString(), "--model", MODEL.toString(), "--input",
                CORPUS.toString(), "--output", out.toString(), "--max-output-tokens", "5"));
        List<JsonNode> rows = readJsonl(out); // jsonl came from the file
        assertEquals(100, rows.size());
        for (JsonNode r : rows) {
            assertTrue(r.get("tgt_tokens").asInt() <= 5, r.toString()); // the CLI's 5, not the file's 3
        }
        assertTrue(rows.stream().anyMatch(r -> r.get("tgt_tokens").asInt() > 3));
        assertTrue(rows.stream().anyMatch(r -> r.get("status").asText().equals("truncated")));
    }

    @Test
    void millionCharacterLineIsCutAndSaysSo() throws IOException {
        Path in = tmp.resolve("long.txt");
        Files.writeString(in, "A short line.\n" + "A dog runs on the beach. ".repeat(40_000) + "\nThe end.\n");
        Path out = tmp.resolve("long-out");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--output", out.toString(),
                "--output-format", "jsonl", "--beam-size", "1", "--max-output-tokens", "40"));
        Map<Long, JsonNode> got = byId(readJsonl(out));
        assertEquals(3, got.size());
        JsonNode big = got.get(1L);
        assertEquals("truncated", big.get("status").asText(), big.toString().substring(0, 200));
        assertTrue(big.get("message").asText().contains("source cut from"), big.get("message").asText());
        assertTrue(big.get("src_tokens").asInt() > engine.maxSourceTokens(), "src_tokens keeps the uncut count");
        assertEquals(1_000_000, big.get("source").asText().length());
    }

    @Test
    void partitionOf200kRowsKeepsEveryRow() throws IOException {
        // 200,000 rows in one partition, mostly blank (no decoding), a few real ones: the window
        // bounds what a task holds, and every row still comes out once.
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 200_000; i++) {
            sb.append(i % 20_000 == 0 ? "A man rides a horse." : "").append('\n');
        }
        Path in = tmp.resolve("many.txt");
        Files.writeString(in, sb);
        Path out = tmp.resolve("many-out");
        Path report = tmp.resolve("many.json");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--output",
                out.toString(), "--beam-size", "1", "--num-partitions", "1", "--report", report.toString()));
        JsonNode rep = new ObjectMapper().readTree(report.toFile());
        assertEquals(200_000, rep.get("rows_in").asLong());
        assertEquals(200_000, rep.get("rows_out").asLong());
        assertEquals(10, rep.get("rows_by_status").get("ok").asLong());
        assertEquals(199_990, rep.get("rows_by_status").get("empty").asLong());
        assertEquals(200_000, spark.read().parquet(out.toString()).select("id").distinct().count());
    }

    @Test
    void decoderStateOverTheTaskBudgetGivesAClearErrorRowNotAFailedJob() throws IOException {
        Path out = tmp.resolve("budget");
        // every row failed: under the default --max-error-rate that is never exit 0
        assertEquals(TranslateJob.EXIT_ERROR_RATE, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(), "--output",
                out.toString(), "--output-format", "jsonl", "--beam-size", "8", "--task-memory-mb", "1"));
        List<JsonNode> rows = readJsonl(out);
        assertEquals(100, rows.size());
        for (JsonNode r : rows) {
            assertEquals("error", r.get("status").asText(), r.toString());
            assertTrue(r.get("message").asText().contains("more than the task budget of 1 MB (--task-memory-mb)"), r.toString());
        }
    }

    static List<byte[]> splitLines(byte[] all) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] == '\n') {
                out.add(java.util.Arrays.copyOfRange(all, start, i));
                start = i + 1;
            }
        }
        if (start < all.length) {
            out.add(java.util.Arrays.copyOfRange(all, start, all.length));
        }
        return out;
    }

    static boolean validUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }
}
