package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dedup (each distinct source translated once) and the translation memory, end to end in local
 * mode on the sample model: the output is that of --no-dedup, part file for part file, byte for
 * byte; a skewed corpus keeps every task to its share of the rows; concurrent runs share one
 * memory, and a later run reuses all of it.
 */
class DedupTest {
    static SparkSession spark;
    static JsonSchema schema;
    static final Path MODEL = TestPaths.sampleModel();
    static final Path CORPUS = TestPaths.repo().resolve("sample-data/corpus/en.txt");

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("DedupTest").set("spark.ui.showConsoleProgress", "false")))
                .getOrCreate();
        schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(Files.readString(TestPaths.repo().resolve("docs/run-report.schema.json")));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @AfterEach
    void noArrowMemoryLeft() {
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated after the job");
    }

    /** Runs the job (exit 0) with a report, checks the report against its schema and returns it. */
    private JsonNode run(String name, String... args) throws IOException {
        Path report = tmp.resolve(name + ".json");
        List<String> a = new ArrayList<>(List.of("--model", MODEL.toString(), "--report", report.toString()));
        a.addAll(List.of(args));
        assertEquals(0, TranslateJob.run(a.toArray(String[]::new)), name);
        JsonNode rep = Fixtures.JSON.readTree(report.toFile());
        Set<ValidationMessage> errors = schema.validate(rep);
        assertTrue(errors.isEmpty(), () -> "report does not follow docs/run-report.schema.json: " + errors + "\n" + rep);
        return rep;
    }

    /** The part files of an output directory, in order, as bytes (their names hold a job id, so not compared). */
    static List<String> parts(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                out.add(f.getFileName().toString().substring(0, "part-00000".length()) + "\n"
                        + Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static List<JsonNode> rows(Path dir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String part : parts(dir)) {
            String[] lines = part.split("\n");
            for (int i = 1; i < lines.length; i++) {
                out.add(Fixtures.JSON.readTree(lines[i]));
            }
        }
        return out;
    }

    /** A corpus of {@code rows} lines drawn from the first {@code distinct} lines of the sample corpus, seeded. */
    private static List<String> repeating(int rows, int distinct, long seed) throws IOException {
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8).subList(0, distinct);
        Random r = new Random(seed);
        List<String> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            out.add(lines.get(r.nextInt(lines.size())));
        }
        return out;
    }

    @Test
    void textOutputIsThatOfNoDedupByteForByteWithNBestScoresAndBadRows() throws IOException {
        List<String> lines = repeating(150, 12, 1);
        // rows the codec settles (empty, blank, one cut to --max-input-tokens) and repeats of them
        lines.add(3, "");
        lines.add(40, "   ");
        String long1 = String.join(" ", Collections.nCopies(40, "A man in an orange hat."));
        lines.add(7, long1);
        lines.add(90, long1);
        Path in = tmp.resolve("in.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        String[] common = {"--input", in.toString(), "--output-format", "jsonl", "--beam-size", "3", "--n-best", "2",
                "--max-input-tokens", "40", "--num-partitions", "3"};
        JsonNode d = run("dedup", concat(common, "--output", tmp.resolve("dedup").toString()));
        JsonNode n = run("nodedup", concat(common, "--output", tmp.resolve("nodedup").toString(), "--no-dedup"));
        assertEquals(parts(tmp.resolve("nodedup")), parts(tmp.resolve("dedup")));
        assertEquals(lines.size(), rows(tmp.resolve("dedup")).size());
        JsonNode u = d.get("units");
        assertTrue(u.get("dedup").asBoolean());
        assertEquals(lines.size() - 2, u.get("units").asLong(), u.toString()); // the two empty rows have no unit
        assertEquals(13, u.get("distinct_units").asLong(), u.toString());
        assertEquals(13, u.get("units_translated").asLong(), u.toString());
        assertEquals(0, u.get("units_reused").asLong());
        assertTrue(u.get("decode_seconds_saved_by_dedup").asDouble() > 0, u.toString());
        assertFalse(n.get("units").get("dedup").asBoolean());
        assertEquals(d.get("rows_by_status"), n.get("rows_by_status"));
    }

    @Test
    void jsonlInputWithIdsIsThatOfNoDedup() throws IOException {
        List<String> lines = repeating(120, 10, 2);
        List<String> records = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            records.add(Fixtures.JSON.createObjectNode().put("id", 1000 + 7L * i).put("text", lines.get(i)).toString());
        }
        records.add("{\"id\": 5, \"text\": null}");
        records.add("{not json");
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, records, StandardCharsets.UTF_8);
        String[] common = {"--input", in.toString(), "--input-format", "jsonl", "--output-format", "jsonl",
                "--beam-size", "2", "--num-partitions", "2", "--max-error-rate", "1"};
        run("dedup", concat(common, "--output", tmp.resolve("dedup").toString()));
        run("nodedup", concat(common, "--output", tmp.resolve("nodedup").toString(), "--no-dedup"));
        assertEquals(parts(tmp.resolve("nodedup")), parts(tmp.resolve("dedup")));
        assertEquals(records.size(), rows(tmp.resolve("dedup")).size());
    }

    /**
     * Documents with string ids: the unit is the sentence (sentences repeat across documents, each
     * decoded once), and the rows are --no-dedup's, byte for byte, sentences column included.
     */
    @Test
    void documentsWithStringIdsAreThoseOfNoDedupAndShareTheirSentences() throws IOException {
        List<String> docs = Files.readAllLines(TestPaths.repo().resolve("sample-data/documents/en.jsonl"), StandardCharsets.UTF_8);
        List<String> records = new ArrayList<>();
        Random r = new Random(5);
        for (int i = 0; i < 60; i++) { // documents repeated, under new string ids
            JsonNode d = Fixtures.JSON.readTree(docs.get(r.nextInt(docs.size())));
            records.add(Fixtures.JSON.createObjectNode().put("id", "doc-" + Integer.toString(i * 7919, 36))
                    .put("text", d.get("text").asText()).toString());
        }
        Path in = tmp.resolve("docs.jsonl");
        Files.write(in, records, StandardCharsets.UTF_8);
        String[] common = {"--input", in.toString(), "--input-format", "jsonl", "--output-format", "jsonl",
                "--beam-size", "1", "--split-sentences", "--emit-sentences", "--num-partitions", "2"};
        JsonNode d = run("dedup", concat(common, "--output", tmp.resolve("dedup").toString()));
        run("nodedup", concat(common, "--output", tmp.resolve("nodedup").toString(), "--no-dedup"));
        assertEquals(parts(tmp.resolve("nodedup")), parts(tmp.resolve("dedup")));
        List<JsonNode> out = rows(tmp.resolve("dedup"));
        assertEquals(records.size(), out.size());
        assertTrue(out.get(0).get("id").isTextual(), out.get(0).toString());
        JsonNode u = d.get("units");
        assertTrue(u.get("units").asLong() > records.size(), "units are sentences: " + u);
        assertTrue(u.get("units_translated").asLong() < u.get("units").asLong(), "repeated sentences decoded once: " + u);
        assertEquals(u.get("distinct_units").asLong(), u.get("units_translated").asLong(), u.toString());
    }

    @Test
    void aSkewedCorpusKeepsEveryTaskToItsShareAndDecodesEachSourceOnce() throws Exception {
        int n = 200_000;
        int partitions = 4;
        List<String> base = Files.readAllLines(CORPUS, StandardCharsets.UTF_8).subList(0, 30);
        Random r = new Random(3);
        List<String> lines = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            lines.add(i % 2 == 0 ? base.get(0) : base.get(1 + r.nextInt(base.size() - 1))); // one sentence = 50%
        }
        Collections.shuffle(lines, r);
        Path in = tmp.resolve("skew.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        AtomicLong maxRecords = new AtomicLong();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                if (e.taskMetrics() != null) {
                    // what one task holds: the rows it reads from a shuffle, or out of the cache or the files
                    long held = Math.max(e.taskMetrics().shuffleReadMetrics().recordsRead(),
                            e.taskMetrics().inputMetrics().recordsRead());
                    maxRecords.accumulateAndGet(held, Math::max);
                }
            }
        };
        spark.sparkContext().addSparkListener(listener);
        JsonNode rep;
        try {
            rep = run("skew", "--input", in.toString(), "--output", tmp.resolve("skew").toString(),
                    "--output-format", "jsonl", "--beam-size", "1", "--num-partitions", String.valueOf(partitions));
        } finally {
            spark.sparkContext().listenerBus().waitUntilEmpty();
            spark.sparkContext().removeSparkListener(listener);
        }
        long share = n / partitions;
        assertTrue(maxRecords.get() <= share + share / 10,
                () -> "a task held " + maxRecords.get() + " rows, more than its share " + share);
        JsonNode u = rep.get("units");
        assertEquals(n, u.get("units").asLong());
        assertEquals(base.size(), u.get("distinct_units").asLong());
        assertEquals(base.size(), u.get("units_translated").asLong(), "each distinct source decoded once");
        assertEquals(n, rep.get("rows_out").asLong());

        try (Translator engine = Translator.load(MODEL)) {
            List<Translation> ref = engine.translate(base, DecodeOptions.greedy(engine.generation().maxLength()), 64, 4096);
            Map<String, Translation> bySource = new HashMap<>();
            for (int i = 0; i < base.size(); i++) {
                bySource.put(base.get(i), ref.get(i));
            }
            boolean[] seen = new boolean[n];
            for (JsonNode row : rows(tmp.resolve("skew"))) {
                int id = row.get("id").asInt();
                assertFalse(seen[id], "duplicate id " + id);
                seen[id] = true;
                assertEquals(lines.get(id), row.get("source").asText());
                Translation t = bySource.get(lines.get(id));
                assertEquals(t.text(), row.get("translation").asText(), "row " + id);
                assertEquals(t.best().score(), row.get("score").asDouble(), 1e-9, "row " + id);
            }
            for (int i = 0; i < n; i++) {
                assertTrue(seen[i], "row " + i + " missing");
            }
        }
    }

    @Test
    void concurrentRunsShareOneMemoryAndAThirdReusesAllOfIt() throws Exception {
        List<String> all = repeating(200, 40, 4);
        Path a = tmp.resolve("a.txt");
        Path b = tmp.resolve("b.txt");
        Files.write(a, all.subList(0, 120), StandardCharsets.UTF_8);
        Files.write(b, all.subList(80, 200), StandardCharsets.UTF_8);
        String memory = tmp.resolve("tm").toUri().toString();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<JsonNode> ra = pool.submit(() -> run("a", "--input", a.toString(), "--output", tmp.resolve("outa").toString(),
                    "--output-format", "jsonl", "--beam-size", "2", "--translation-memory", memory));
            Future<JsonNode> rb = pool.submit(() -> run("b", "--input", b.toString(), "--output", tmp.resolve("outb").toString(),
                    "--output-format", "jsonl", "--beam-size", "2", "--translation-memory", memory));
            JsonNode ja = ra.get();
            JsonNode jb = rb.get();
            assertEquals(120, ja.get("rows_out").asLong());
            assertEquals(120, jb.get("rows_out").asLong());
        } finally {
            pool.shutdown();
        }
        Path both = tmp.resolve("both");
        Files.createDirectories(both);
        Files.write(both.resolve("1.txt"), all.subList(0, 120), StandardCharsets.UTF_8);
        Files.write(both.resolve("2.txt"), all.subList(120, 200), StandardCharsets.UTF_8);
        String[] common = {"--input", both.toString(), "--output-format", "jsonl", "--beam-size", "2",
                "--num-partitions", "3"};
        JsonNode third = run("third", concat(common, "--output", tmp.resolve("third").toString(),
                "--translation-memory", memory));
        JsonNode u = third.get("units");
        assertEquals(0, u.get("units_translated").asLong(), "every unit comes from the memory: " + u);
        assertEquals(u.get("distinct_units").asLong(), u.get("units_reused").asLong(), u.toString());
        assertTrue(u.get("decode_seconds_saved_by_memory").asDouble() > 0, u.toString());
        run("fresh", concat(common, "--output", tmp.resolve("fresh").toString(), "--no-dedup"));
        assertEquals(parts(tmp.resolve("fresh")), parts(tmp.resolve("third")));

        // compaction merges the run directories into one; the memory still answers everything
        Path dir = memoryDir(tmp.resolve("tm"));
        assertEquals(2, runDirs(dir).size(), "one run directory per run that decoded something");
        assertEquals(2, TranslationMemory.compact(spark, memory));
        assertEquals(1, runDirs(dir).size());
        JsonNode fourth = run("fourth", concat(common, "--output", tmp.resolve("fourth").toString(),
                "--translation-memory", memory));
        assertEquals(0, fourth.get("units").get("units_translated").asLong());
        assertEquals(parts(tmp.resolve("fresh")), parts(tmp.resolve("fourth")));

        // other decoding options never reuse an entry
        JsonNode greedy = run("greedy", concat(new String[]{"--input", both.toString(), "--output-format", "jsonl",
                "--beam-size", "1", "--output", tmp.resolve("greedy").toString(), "--translation-memory", memory}));
        assertEquals(0, greedy.get("units").get("units_reused").asLong());
        assertEquals(40, greedy.get("units").get("units_translated").asLong());
    }

    @Test
    void anIncrementalRunTakesAChangedFilesUnchangedSentencesFromTheMemory() throws IOException {
        Path in = tmp.resolve("in");
        Files.createDirectories(in);
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8);
        Files.write(in.resolve("a.txt"), lines.subList(0, 20), StandardCharsets.UTF_8);
        String memory = tmp.resolve("tm").toString();
        String[] common = {"--input", in.toString(), "--output", tmp.resolve("out").toString(), "--incremental",
                "--output-format", "jsonl", "--beam-size", "1", "--translation-memory", memory};
        JsonNode first = run("first", common);
        assertEquals(20, first.get("units").get("units_translated").asLong());
        List<String> changed = new ArrayList<>(lines.subList(0, 20));
        changed.add(lines.get(50));
        Files.write(in.resolve("a.txt"), changed, StandardCharsets.UTF_8);
        JsonNode second = run("second", common);
        assertEquals(21, second.get("rows_translated").asLong());
        assertEquals(1, second.get("units").get("units_translated").asLong(), second.get("units").toString());
        assertEquals(20, second.get("units").get("units_reused").asLong());
    }

    @Test
    void theMemoryNeedsDedup() {
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", CORPUS.toString(),
                "--output", tmp.resolve("x").toString(), "--no-dedup", "--translation-memory", tmp.toString()));
    }

    @Test
    void theMemoryKeyLeavesOutReadingOptionsButNotDecodingOnes() throws IOException {
        io.sparknmt.model.ModelBundle b = io.sparknmt.model.ModelBundle.load(MODEL);
        String[] base = {"--model", MODEL.toString(), "--input", "x", "--output", "y"};
        String h = JobSettings.parse(base).memoryOptionsHash(b);
        assertEquals(h, JobSettings.parse(concat(base, "--input-format", "jsonl", "--text-column", "t",
                "--max-input-tokens", "64", "--max-batch-sentences", "8")).memoryOptionsHash(b));
        for (String[] other : List.of(new String[]{"--beam-size", "1"}, new String[]{"--beam-size", "3", "--n-best", "2"},
                new String[]{"--max-output-tokens", "20"}, new String[]{"--weights", "int8"},
                new String[]{"--repetition-penalty", "1.2"}, new String[]{"--no-repeat-ngram-size", "3"},
                new String[]{"--length-penalty", "0.6"})) {
            assertFalse(h.equals(JobSettings.parse(concat(base, other)).memoryOptionsHash(b)), String.join(" ", other));
        }
    }

    @Test
    void aUnitResultComesBackExactly() {
        io.sparknmt.decode.Hypothesis best = new io.sparknmt.decode.Hypothesis(new int[]{5, 7, 9}, true, -1.2345678901234567,
                -0.30864197253086417);
        io.sparknmt.decode.Hypothesis second = new io.sparknmt.decode.Hypothesis(new int[]{5}, false, -Double.MIN_VALUE, -7.0);
        Translation t = new Translation("ein Mann \u00e9\ud83d\ude00", best, List.of(new Translation.Scored("ein Mann", best),
                new Translation.Scored("", second)));
        Translation back = Units.decode(Units.encode(t));
        assertEquals(t.text(), back.text());
        assertEquals(2, back.nBest().size());
        for (int i = 0; i < 2; i++) {
            io.sparknmt.decode.Hypothesis x = t.nBest().get(i).hypothesis();
            io.sparknmt.decode.Hypothesis y = back.nBest().get(i).hypothesis();
            assertEquals(t.nBest().get(i).text(), back.nBest().get(i).text());
            assertTrue(java.util.Arrays.equals(x.tokens(), y.tokens()));
            assertEquals(x.finished(), y.finished());
            assertEquals(Double.doubleToRawLongBits(x.score()), Double.doubleToRawLongBits(y.score()));
            assertEquals(Double.doubleToRawLongBits(x.sumLogProb()), Double.doubleToRawLongBits(y.sumLogProb()));
        }
        // keys: the ids exactly (order, prefix, </s>)
        assertEquals(Units.key(new int[]{1, 2, 0}), Units.key(new int[]{1, 2, 0}));
        assertFalse(Units.key(new int[]{1, 2, 0}).equals(Units.key(new int[]{2, 1, 0})));
        assertFalse(Units.key(new int[]{1, 2}).equals(Units.key(new int[]{1, 2, 0})));
        byte[] bad = Units.encode(t);
        bad[0] = 9;
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Units.decode(bad));
    }

    private static Path memoryDir(Path root) throws IOException {
        try (Stream<Path> models = Files.list(root)) {
            Path model = models.filter(Files::isDirectory).findFirst().orElseThrow();
            try (Stream<Path> opts = Files.list(model)) {
                return opts.filter(p -> runDirsUnchecked(p) > 0).findFirst().orElseThrow();
            }
        }
    }

    private static long runDirsUnchecked(Path p) {
        try {
            return runDirs(p).size();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<Path> runDirs(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("run-")).toList();
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
