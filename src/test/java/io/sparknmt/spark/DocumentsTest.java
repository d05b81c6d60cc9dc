package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.text.Segment;
import io.sparknmt.text.SentenceSplitter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Documents (--split-sentences) and input columns of any type, end to end in Spark local mode on
 * the sample model: every output must equal the engine's translations of the sentences on their
 * own, joined by the document's original separators, byte for byte.
 */
class DocumentsTest {
    static SparkSession spark;
    static Translator engine;
    static DecodeOptions greedy;
    static final Path MODEL = TestPaths.sampleModel();
    static final Path DOCS = TestPaths.repo().resolve("sample-data/documents/en.jsonl");
    static final Path REFS = TestPaths.repo().resolve("sample-data/documents/sentences.jsonl");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("DocumentsTest")
                .set("spark.ui.showConsoleProgress", "false"))).getOrCreate();
        engine = Translator.load(MODEL);
        greedy = DecodeOptions.greedy(engine.generation().maxLength());
    }

    @AfterAll
    static void stop() {
        engine.close();
        spark.stop();
    }

    @AfterEach
    void noArrowMemoryLeft() {
        assertEquals(0, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated after the job");
    }

    /** The engine's translation of each distinct sentence, on its own. */
    static Map<String, Translation> translate(List<String> sentences) {
        List<String> distinct = new ArrayList<>(new LinkedHashSet<>(sentences));
        List<Translation> t = engine.translate(distinct, greedy, 64, 4096);
        Map<String, Translation> m = new HashMap<>();
        for (int i = 0; i < distinct.size(); i++) {
            m.put(distinct.get(i), t.get(i));
        }
        return m;
    }

    static Map<String, JsonNode> byStringId(List<JsonNode> rows) {
        Map<String, JsonNode> m = new HashMap<>();
        for (JsonNode r : rows) {
            assertTrue(m.put(r.get("id").asText(), r) == null, "duplicate id " + r.get("id"));
        }
        return m;
    }

    @Test
    void eachDocumentIsItsSentencesTranslationsJoinedByItsOwnSeparators() throws IOException {
        Path out = tmp.resolve("docs");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", DOCS.toString(), "--input-format", "jsonl",
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1", "--split-sentences",
                "--emit-sentences", "--num-partitions", "3", "--max-batch-sentences", "7");
        assertEquals(0, rc);
        List<JsonNode> refs = new ArrayList<>();
        List<String> all = new ArrayList<>();
        for (String line : Files.readAllLines(REFS, StandardCharsets.UTF_8)) {
            JsonNode r = JSON.readTree(line);
            refs.add(r);
            r.get("sentences").forEach(s -> all.add(s.asText()));
        }
        Map<String, Translation> t = translate(all);
        Map<String, JsonNode> got = byStringId(TranslateJobTest.readJsonl(out));
        assertEquals(refs.size(), got.size(), "one row per document");
        Map<String, JsonNode> input = new HashMap<>();
        for (String line : Files.readAllLines(DOCS, StandardCharsets.UTF_8)) {
            JsonNode d = JSON.readTree(line);
            input.put(d.get("id").asText(), d);
        }
        for (JsonNode ref : refs) {
            String id = ref.get("id").asText();
            JsonNode row = got.get(id);
            assertNotNull(row, id);
            StringBuilder expect = new StringBuilder(ref.get("leading").asText());
            boolean hitLimit = false;
            for (int i = 0; i < ref.get("sentences").size(); i++) {
                Translation tr = t.get(ref.get("sentences").get(i).asText());
                expect.append(tr.text()).append(ref.get("separators").get(i).asText());
                hitLimit |= tr.best().generatedLength() >= greedy.maxLength() - 1;
                JsonNode s = row.get("sentences").get(i);
                assertEquals(ref.get("sentences").get(i).asText(), s.get("source").asText(), id);
                assertEquals(tr.text(), s.get("translation").asText(), id);
                assertEquals(tr.best().score(), s.get("score").asDouble(), 1e-12, id);
            }
            assertEquals(expect.toString(), row.get("translation").asText(), id + ": " + row);
            assertEquals(hitLimit ? "truncated" : "ok", row.get("status").asText(), row.toString());
            assertEquals(ref.get("sentences").size(), row.get("sentences").size(), id);
            assertEquals(input.get(id).get("text").asText(), row.get("source").asText(), id);
            // the other input columns, with their types
            assertEquals(input.get(id).get("topic").asText(), row.get("topic").asText(), id);
            assertTrue(row.get("n").isIntegralNumber(), row.toString());
            assertEquals(input.get(id).get("n").asLong(), row.get("n").asLong(), id);
            assertTrue(row.get("id").isTextual(), row.toString());
            assertFalse(row.has("record"), "the internal row key is not written: " + row);
        }
    }

    @Test
    void aThirtyThousandTokenDocumentIsTranslatedWhole() throws IOException {
        List<String> pool = new ArrayList<>();
        for (String s : Files.readAllLines(TestPaths.repo().resolve("src/test/resources/multi30k/test_2016_flickr.en"))) {
            if (s.matches("[A-Z][^.!?]*[^.!?\\s]\\.") && pool.size() < 60) {
                pool.add(s);
            }
        }
        StringBuilder doc = new StringBuilder();
        List<String> sentences = new ArrayList<>();
        List<String> seps = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; tokens < 30_000; i++) {
            String s = pool.get(i % pool.size());
            String sep = i % 17 == 16 ? "\n\n" : i % 5 == 4 ? "\n" : " ";
            sentences.add(s);
            seps.add(sep);
            doc.append(s).append(sep);
            tokens += engine.tokenizer().encode(s).length - 1;
        }
        Path in = tmp.resolve("big.jsonl");
        ObjectNode rec = JSON.createObjectNode().put("id", "big").put("text", doc.toString());
        Files.writeString(in, rec.toString() + "\n{\"id\": \"small\", \"text\": \"A dog runs.\"}\n");
        Path out = tmp.resolve("big");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--input-format", "jsonl",
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1", "--split-sentences",
                "--max-error-rate", "0");
        assertEquals(0, rc);
        Map<String, Translation> t = translate(sentences);
        StringBuilder expect = new StringBuilder();
        for (int i = 0; i < sentences.size(); i++) {
            expect.append(t.get(sentences.get(i)).text()).append(seps.get(i));
        }
        JsonNode row = byStringId(TranslateJobTest.readJsonl(out)).get("big");
        assertEquals(expect.toString(), row.get("translation").asText());
        assertTrue(row.get("src_tokens").asInt() >= 30_000 + sentences.size(), row.get("src_tokens").toString());
        assertTrue(row.get("message").isNull() || !row.get("message").asText().contains("cut from"), row.get("message").toString());
    }

    @Test
    void aSentenceOverTheInputLimitIsCutAtClausesThenWindowsNeverTruncated() throws IOException {
        int max = 16;
        String clauses = "A man in a blue shirt and a hat, a woman in a long red dress, and two small children are "
                + "walking on the beach.";
        String words = "A man in a blue shirt and a black hat and a woman in a long red dress walk with two small "
                + "children and a big brown dog on the beach at sunset";
        Path in = tmp.resolve("long.jsonl");
        Files.writeString(in, JSON.createObjectNode().put("id", "c").put("text", "Two dogs play. " + clauses) + "\n"
                + JSON.createObjectNode().put("id", "w").put("text", words + "\n") + "\n");
        Path out = tmp.resolve("long");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--input-format", "jsonl",
                "--output", out.toString(), "--output-format", "jsonl", "--beam-size", "1", "--split-sentences",
                "--max-input-tokens", String.valueOf(max), "--max-batch-tokens", "64");
        assertEquals(0, rc);
        Map<String, JsonNode> got = byStringId(TranslateJobTest.readJsonl(out));

        List<Segment> parts = SentenceSplitter.clauses(clauses, s -> engine.tokenizer().encode(s).length, max);
        assertTrue(parts.size() > 1, parts.toString());
        List<String> texts = new ArrayList<>(List.of("Two dogs play."));
        parts.forEach(p -> texts.add(p.text()));
        Map<String, Translation> t = translate(texts);
        StringBuilder expect = new StringBuilder(t.get("Two dogs play.").text()).append(' ');
        for (Segment p : parts) {
            assertTrue(engine.tokenizer().encode(p.text()).length <= max, p.text());
            expect.append(t.get(p.text()).text()).append(p.trailing());
        }
        JsonNode c = got.get("c");
        assertEquals(expect.toString(), c.get("translation").asText(), c.toString());
        assertEquals("split", c.get("status").asText(), c.toString());
        assertTrue(c.get("message").asText().startsWith("sentence 1 split: sentence of "), c.toString());
        assertTrue(c.get("message").asText().contains("clause punctuation"), c.toString());

        // no punctuation: windows of at most max tokens, each translated, joined with a space
        int[] ids = engine.tokenizer().encode(words);
        assertTrue(ids.length > 2 * max, "the sentence needs three windows: " + ids.length);
        List<int[]> windows = new ArrayList<>();
        for (int start = 0; start < ids.length - 1; start += max - 1) {
            int[] w = Arrays.copyOfRange(ids, start, Math.min(start + max - 1, ids.length - 1));
            w = Arrays.copyOf(w, w.length + 1);
            w[w.length - 1] = engine.tokenizer().eosId();
            windows.add(w);
        }
        List<Translation> wt = engine.translateIds(windows.toArray(int[][]::new), greedy);
        StringBuilder we = new StringBuilder();
        for (int i = 0; i < wt.size(); i++) {
            we.append(i == 0 ? "" : " ").append(wt.get(i).text());
        }
        JsonNode w = got.get("w");
        assertEquals(we + "\n", w.get("translation").asText(), w.toString());
        assertEquals("split", w.get("status").asText(), w.toString());
        assertTrue(w.get("message").asText().contains("windows of at most " + max + " tokens"), w.toString());
        assertEquals(ids.length, w.get("src_tokens").asInt());
    }

    @Test
    void aUuidKeyedParquetTableKeepsEveryColumnAndRow() throws IOException {
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 30);
        StructType schema = new StructType().add("uuid", DataTypes.StringType).add("body", DataTypes.StringType)
                .add("category", DataTypes.StringType).add("price", DataTypes.IntegerType)
                .add("weight", DataTypes.DoubleType).add("tags", DataTypes.createArrayType(DataTypes.StringType))
                .add("active", DataTypes.BooleanType);
        List<Row> rows = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String uuid = UUID.nameUUIDFromBytes(("row" + i).getBytes(StandardCharsets.UTF_8)).toString();
            index.put(uuid, i);
            rows.add(RowFactory.create(uuid, lines.get(i), "cat-" + (i % 3), i * 10, i / 4.0,
                    io.sparknmt.io.ScalaSeqs.wrap(new Object[]{"t" + i, "x"}), i % 2 == 0));
        }
        Path in = tmp.resolve("table");
        spark.createDataFrame(rows, schema).repartition(3).write().parquet(in.toString());
        Path out = tmp.resolve("table-out");
        int rc = TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--input-format", "parquet",
                "--id-column", "uuid", "--text-column", "body", "--output", out.toString(), "--output-format", "parquet",
                "--beam-size", "1");
        assertEquals(0, rc);
        Map<String, Translation> t = translate(lines);
        List<Row> got = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(lines.size(), got.size());
        StructType outSchema = spark.read().parquet(out.toString()).schema();
        for (String c : List.of("category", "price", "weight", "tags", "active")) {
            assertEquals(schema.apply(c).dataType(), outSchema.apply(c).dataType(), c);
        }
        assertEquals(DataTypes.StringType, outSchema.apply("id").dataType());
        for (Row r : got) {
            int i = index.get(r.<String>getAs("id"));
            assertEquals(lines.get(i), r.getAs("source"));
            assertEquals(t.get(lines.get(i)).text(), r.getAs("translation"));
            assertEquals("cat-" + (i % 3), r.getAs("category"));
            assertEquals(i * 10, (int) r.<Integer>getAs("price"));
            assertEquals(i / 4.0, r.<Double>getAs("weight"), 0);
            assertEquals(List.of("t" + i, "x"), r.getList(r.fieldIndex("tags")));
            assertEquals(i % 2 == 0, r.<Boolean>getAs("active"));
        }
        // formats that cannot hold a column say so before anything is translated (exit 2)
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(),
                "--input-format", "parquet", "--id-column", "uuid", "--text-column", "body",
                "--output", tmp.resolve("tsv").toString(), "--output-format", "tsv"));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(),
                "--input-format", "parquet", "--id-column", "uuid", "--text-column", "body",
                "--output", tmp.resolve("arrow").toString(), "--output-format", "arrow"));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(),
                "--input-format", "parquet", "--text-column", "body", "--keep-columns", "nope",
                "--output", tmp.resolve("nope").toString()));
        assertFalse(Files.exists(tmp.resolve("tsv")) || Files.exists(tmp.resolve("arrow")));
        // choosing the columns: tsv holds the flat ones
        Path tsv = tmp.resolve("tsv-ok");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", in.toString(), "--input-format", "parquet",
                "--id-column", "uuid", "--text-column", "body", "--keep-columns", "price,category", "--output",
                tsv.toString(), "--output-format", "tsv", "--beam-size", "1"));
        List<Row> t2 = spark.read().option("sep", "\t").option("header", "true").csv(tsv.toString()).collectAsList();
        assertEquals(lines.size(), t2.size());
        assertTrue(Arrays.asList(t2.get(0).schema().fieldNames()).containsAll(List.of("id", "price", "category")));
        assertFalse(Arrays.asList(t2.get(0).schema().fieldNames()).contains("tags"));
    }
}
