package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.io.UsageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.spark.SparkConf;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DataFrame API ({@link NmtTranslator}) against the CLI on the sample model: the same rows, also
 * after a Pipeline is saved and loaded, and on a streaming DataFrame over files dropped in a directory.
 */
class NmtTranslatorTest {
    static SparkSession spark;
    static final Path MODEL = TestPaths.sampleModel();
    static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType)
            .add("n", DataTypes.LongType);

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("NmtTranslatorTest")
                .set("spark.ui.showConsoleProgress", "false")
                // a user's session: Kryo with the project's registrator, but Spark's streaming sinks ship
                // classes nobody registers (SinkFileStatus, MemoryWriterCommitMessage)
                .set("spark.kryo.registrationRequired", "false"))).getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @AfterEach
    void noArrowMemoryLeft() {
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated");
    }

    /** {@code count} lines of the sample corpus from {@code from}, as jsonl rows {id, text, n}, plus an empty text. */
    static List<String> jsonl(int from, int count, String idPrefix) throws IOException {
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"), StandardCharsets.UTF_8)
                .subList(from, from + count);
        List<String> out = new ArrayList<>();
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        for (int i = 0; i < lines.size(); i++) {
            out.add(m.writeValueAsString(Map.of("id", idPrefix + i, "text", lines.get(i), "n", from + i)));
        }
        out.add(m.writeValueAsString(Map.of("id", idPrefix + "empty", "text", " ", "n", -1)));
        return out;
    }

    /** The job's columns of a row (or of the output struct), as text, in a fixed order. */
    static String describe(Row s) {
        StringBuilder b = new StringBuilder();
        for (String f : List.of("translation", "score", "status", "message", "src_tokens", "tgt_tokens", "n_best")) {
            Object v = s.isNullAt(s.fieldIndex(f)) ? null : s.get(s.fieldIndex(f));
            b.append(f).append('=').append(v).append('|');
        }
        return b.toString();
    }

    /** id -> the job's columns of a row, as text ({@link #describe}). */
    static Map<String, String> byId(List<Row> rows, java.util.function.Function<Row, Row> struct) {
        Map<String, String> m = new HashMap<>();
        for (Row r : rows) {
            assertTrue(m.put(r.getAs("id"), describe(struct.apply(r))) == null, "duplicate id " + r.getAs("id"));
        }
        return m;
    }

    /** {@code out} holds the rows of {@code in}, in their order and untouched, each followed by the output column. */
    static void assertInputRowsKept(List<Row> in, List<Row> out) {
        assertEquals(in.size(), out.size());
        for (int i = 0; i < in.size(); i++) {
            assertEquals(in.get(i), Row.fromSeq(out.get(i).toSeq().take(in.get(i).length()).toSeq()), "row " + i);
        }
    }

    NmtTranslator translator() {
        return new NmtTranslator().setModelPath(MODEL.toString()).setInputCol("text").setOutputCol("de")
                .setBeamSize(2).setNBest(2).setMaxBatchSentences(3);
    }

    @Test
    void aSavedAndLoadedPipelineGivesTheRowsOfTheCli() throws IOException {
        Path input = tmp.resolve("in.jsonl");
        Files.write(input, jsonl(0, 8, "r"), StandardCharsets.UTF_8);
        Path cliOut = tmp.resolve("cli");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", input.toString(), "--input-format", "jsonl",
                "--output", cliOut.toString(), "--output-format", "parquet", "--beam-size", "2", "--n-best", "2",
                "--max-batch-sentences", "3", "--max-error-rate", "1"));
        Map<String, String> cli = byId(spark.read().parquet(cliOut.toString()).collectAsList(), r -> r);

        Dataset<Row> df = spark.read().schema(SCHEMA).json(input.toString());
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[]{translator()});
        pipeline.write().overwrite().save(tmp.resolve("pipeline").toString());
        PipelineModel fitted = Pipeline.load(tmp.resolve("pipeline").toString()).fit(df);
        fitted.write().overwrite().save(tmp.resolve("model").toString());
        PipelineModel loaded = PipelineModel.load(tmp.resolve("model").toString());
        NmtTranslator stage = (NmtTranslator) loaded.stages()[0];
        assertEquals("de", stage.getOutputCol());
        assertEquals(2, (Integer) stage.getOrDefault(stage.beamSize()));

        Dataset<Row> out = loaded.transform(df);
        assertEquals(Arrays.asList("id", "text", "n", "de"), Arrays.asList(out.columns()), "every input column, then the output");
        assertEquals(NmtTranslator.outputStruct(new NmtTranslator().setModelPath(MODEL.toString()).setBeamSize(2).setNBest(2)
                .settings().partitionSettings(NmtTranslator.model(translator().settings(), spark))), out.schema().apply("de").dataType());
        List<Row> rows = out.collectAsList();
        assertInputRowsKept(df.collectAsList(), rows); // no repartition
        Map<String, String> api = byId(rows, r -> r.getAs("de"));
        assertEquals(cli, api);
        assertTrue(api.get("rempty").contains("status=empty"), api.get("rempty"));
        assertTrue(api.get("r0").contains("status=ok"), api.get("r0"));
        // the stage as built, before saving, gives the same rows too
        assertEquals(api, byId(translator().transform(df).collectAsList(), r -> r.getAs("de")));
    }

    @Test
    void aStreamOverTwoFilesDroppedInADirectoryTranslatesBothOnce() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("incoming"));
        Dataset<Row> stream = spark.readStream().schema(SCHEMA).option("maxFilesPerTrigger", 1).json(dir.toString());
        Path sink = tmp.resolve("translated");
        StreamingQuery q = translator().setNumPartitions(2).transform(stream).writeStream().format("parquet")
                .option("path", sink.toString()).option("checkpointLocation", tmp.resolve("checkpoint").toString()).start();
        try {
            drop(dir, "a.jsonl", jsonl(0, 4, "a"));
            q.processAllAvailable();
            drop(dir, "b.jsonl", jsonl(4, 4, "b"));
            q.processAllAvailable();
        } finally {
            stopQuery(q);
        }
        assertEquals(2, q.recentProgress().length == 0 ? -1 : countBatches(q), "one micro-batch per file");
        List<Row> got = spark.read().parquet(sink.toString()).collectAsList();
        Map<String, String> streamed = byId(got, r -> r.getAs("de")); // fails on a row translated twice
        assertEquals(10, streamed.size(), "both files, every row, once: " + streamed.keySet());
        // the same rows as a batch transform of the two files
        Path both = tmp.resolve("both.jsonl");
        List<String> all = new ArrayList<>(jsonl(0, 4, "a"));
        all.addAll(jsonl(4, 4, "b"));
        Files.write(both, all, StandardCharsets.UTF_8);
        Dataset<Row> batch = spark.read().schema(SCHEMA).json(both.toString());
        assertEquals(byId(translator().transform(batch).collectAsList(), r -> r.getAs("de")), streamed);
    }

    private static void drop(Path dir, String name, List<String> lines) throws IOException {
        Path part = dir.getParent().resolve(name + ".tmp"); // written elsewhere, then moved in whole
        Files.write(part, lines, StandardCharsets.UTF_8);
        Files.move(part, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Micro-batches that read rows. */
    private static long countBatches(StreamingQuery q) {
        return Arrays.stream(q.recentProgress()).filter(p -> p.numInputRows() > 0).count();
    }

    private static void stopQuery(StreamingQuery q) throws TimeoutException {
        q.stop();
    }

    /** {@code copies} rows for each of the first {@code distinct} corpus lines, ids {@code prefix + i}, interleaved. */
    static Dataset<Row> repeated(int distinct, int copies, String prefix) throws IOException {
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"), StandardCharsets.UTF_8);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < distinct * copies; i++) {
            rows.add(org.apache.spark.sql.RowFactory.create(prefix + i, lines.get(i % distinct), (long) i));
        }
        return spark.createDataFrame(rows, SCHEMA);
    }

    private static List<Path> memoryRuns(Path memory) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(memory)) {
            return s.filter(p -> p.getFileName().toString().startsWith(TranslationMemory.RUN_PREFIX)).toList();
        }
    }

    /** text -> the job's columns, for rows whose ids differ between two inputs of the same texts. */
    private static Map<String, String> byText(List<Row> rows) {
        Map<String, String> m = new HashMap<>();
        for (Row r : rows) {
            String v = describe(r.getAs("de"));
            String before = m.put(r.getAs("text"), v);
            assertTrue(before == null || before.equals(v), "one text, two outcomes: " + r.getAs("text"));
        }
        return m;
    }

    @Test
    void dedupAndATranslationMemoryGiveTheRowsOfNoDedupAndDecodeEachUnitOnce() throws IOException {
        Dataset<Row> df = repeated(6, 5, "d");
        Map<String, String> plain = byId(translator().setDedup(false).transform(df).collectAsList(), r -> r.getAs("de"));

        Dataset<Row> out = translator().transform(df); // dedup: on by default for a batch Dataset
        assertEquals(df.rdd().getNumPartitions(), out.rdd().getNumPartitions(), "the input's partitioning is kept");
        List<Row> rows = out.collectAsList();
        assertInputRowsKept(df.collectAsList(), rows);
        assertEquals(plain, byId(rows, r -> r.getAs("de")));

        Path memory = tmp.resolve("memory");
        Map<String, String> first = byId(translator().setTranslationMemory(memory.toString()).transform(df).collectAsList(),
                r -> r.getAs("de"));
        assertEquals(plain, first);
        List<Path> runs = memoryRuns(memory);
        assertEquals(1, runs.size(), "one run directory: " + runs);
        assertEquals(6, spark.read().parquet(runs.get(0).toString()).count(), "each distinct sentence once");

        // other rows of the same texts: every unit from the memory, nothing added, the same outcomes
        Dataset<Row> again = repeated(6, 2, "e");
        List<Row> second = translator().setTranslationMemory(memory.toString()).transform(again).collectAsList();
        assertEquals(12, second.size());
        assertEquals(byText(translator().setDedup(false).transform(again).collectAsList()), byText(second));
        assertEquals(runs, memoryRuns(memory), "nothing new was decoded, so nothing was added");

        // other options never reuse the entries
        translator().setBeamSize(1).setNBest(1).setTranslationMemory(memory.toString()).transform(again).count();
        assertEquals(2, memoryRuns(memory).size());
    }

    @Test
    void badParamsAreRefusedAsTheCliRefusesThem() {
        Dataset<Row> df = spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create("x", "Hello.", 1L)), SCHEMA);
        UsageException e = assertThrows(UsageException.class, () -> translator().setBeamSize(0).transform(df));
        assertTrue(e.getMessage().contains("--beam-size must be >= 1"), e.getMessage());
        e = assertThrows(UsageException.class, () -> translator().setInputCol("nope").transform(df));
        assertTrue(e.getMessage().contains("input column nope"), e.getMessage());
        e = assertThrows(UsageException.class, () -> translator().setOutputCol("text").transform(df));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        e = assertThrows(UsageException.class, () -> new NmtTranslator().transform(df));
        assertTrue(e.getMessage().contains("modelPath"), e.getMessage());
        e = assertThrows(UsageException.class, () -> translator().setDedup(false).setTranslationMemory("/tmp/m").transform(df));
        assertTrue(e.getMessage().contains("--translation-memory needs dedup"), e.getMessage());
        Dataset<Row> stream = spark.readStream().schema(SCHEMA).json(tmp.toString());
        e = assertThrows(UsageException.class, () -> translator().setTranslationMemory(tmp.resolve("m").toString()).transform(stream));
        assertTrue(e.getMessage().contains("foreachBatch"), e.getMessage());
    }
}
