package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pre-tokenized Arrow IPC files in, translated token ids out, as a pyarrow pipeline would use them. */
class ArrowTokenIoTest {
    static SparkSession spark;
    static Translator engine;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("ArrowTokenIoTest").set("spark.ui.showConsoleProgress", "false")))
                .getOrCreate();
        engine = Translator.load(TestPaths.sampleModel());
    }

    @AfterAll
    static void stop() {
        engine.close();
        spark.stop();
    }

    @Test
    void arrowTokensInArrowTokensOut() throws IOException {
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 40);
        int[][] ids = new int[lines.size()][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = engine.tokenizer().encode(lines.get(i));
        }
        Path in = tmp.resolve("in");
        Files.createDirectories(in);
        writeTokens(in.resolve("a.arrow"), 100, ids, 0, 25);
        writeTokens(in.resolve("b.arrow"), 200, ids, 25, ids.length);
        Files.write(in.resolve("c.arrow"), new byte[]{1, 2, 3, 4}); // not an Arrow file: one error row
        Path out = tmp.resolve("out");
        // c.arrow is unreadable: the rest is translated and the exit code says some input failed
        assertEquals(TranslateJob.EXIT_INPUT_FILES, TranslateJob.run("--model", TestPaths.sampleModel().toString(),
                "--input", in.toString(), "--input-format", "arrow", "--output", out.toString(),
                "--output-format", "arrow", "--beam-size", "1"));

        Map<Long, int[]> got = new HashMap<>();
        Map<Long, String> status = new HashMap<>();
        try (Stream<Path> files = Files.list(out);
             BufferAllocator alloc = new RootAllocator()) {
            for (Path f : files.filter(p -> p.toString().endsWith(".arrow")).toList()) {
                try (ArrowFileReader r = new ArrowFileReader(Files.newByteChannel(f), alloc)) {
                    VectorSchemaRoot root = r.getVectorSchemaRoot();
                    while (r.loadNextBatch()) {
                        BigIntVector id = (BigIntVector) root.getVector("id");
                        ListVector tok = (ListVector) root.getVector("tokens");
                        VarCharVector st = (VarCharVector) root.getVector("status");
                        for (int i = 0; i < root.getRowCount(); i++) {
                            status.put(id.get(i), new String(st.get(i)));
                            if (!tok.isNull(i)) {
                                List<?> l = tok.getObject(i);
                                got.put(id.get(i), l.stream().mapToInt(o -> (Integer) o).toArray());
                            }
                        }
                    }
                }
            }
        }
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        assertEquals(ids.length + 1, status.size(), "one row per token row, plus one for the unreadable file");
        assertEquals(1, status.values().stream().filter("error"::equals).count());
        List<Translation> expect = engine.translateIds(ids, DecodeOptions.greedy(engine.generation().maxLength()));
        for (int i = 0; i < ids.length; i++) {
            long id = i < 25 ? 100 + i : 200 + i;
            assertArrayEquals(expect.get(i).best().tokens(), got.get(id), "row " + id);
        }
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory());
    }

    static void writeTokens(Path file, long idBase, int[][] ids, int from, int to) throws IOException {
        Schema schema = new Schema(List.of(
                new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
                new Field("tokens", FieldType.nullable(new ArrowType.List()),
                        List.of(new Field("item", FieldType.notNullable(new ArrowType.Int(32, true)), null)))));
        try (BufferAllocator alloc = new RootAllocator();
             VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
             OutputStream os = Files.newOutputStream(file);
             ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(os))) {
            w.start();
            BigIntVector id = (BigIntVector) root.getVector("id");
            ListVector tok = (ListVector) root.getVector("tokens");
            root.allocateNew();
            UnionListWriter lw = tok.getWriter();
            for (int i = from; i < to; i++) {
                id.setSafe(i - from, idBase + i);
                lw.setPosition(i - from);
                lw.startList();
                for (int t : ids[i]) {
                    lw.writeInt(t);
                }
                lw.endList();
            }
            root.setRowCount(to - from);
            w.writeBatch();
            w.end();
        }
    }
}
