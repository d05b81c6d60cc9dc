package io.sparknmt.decode;

import static io.sparknmt.Fixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import io.sparknmt.model.DecoderState;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.MarianModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine against the independent PyTorch reference (tools/reference): logits of the first
 * decoding steps, greedy and beam-4 outputs, on the sample model.
 */
class ParityTest {
    static Translator engine;
    static List<JsonNode> parity;

    @BeforeAll
    static void load() throws IOException {
        engine = Translator.load(TestPaths.sampleModel());
        parity = Fixtures.jsonl("parity.jsonl");
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void fixturesWereMadeFromTheCommittedModel() throws Exception {
        JsonNode files = Fixtures.json("manifest.json").path("model_sha256");
        assertTrue(files.size() >= 5, "manifest lists the model files");
        for (Iterator<Map.Entry<String, JsonNode>> it = files.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            byte[] bytes = Files.readAllBytes(TestPaths.sampleModel().resolve(e.getKey()));
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            String expect = e.getValue().isTextual() ? e.getValue().asText() : e.getValue().path("sha256").asText();
            assertEquals(expect, sha, e.getKey() + " changed since the fixtures were made: rerun make_fixtures.py");
        }
    }

    @Test
    void logitsOfTheFirstStepsMatchWithin1e3() throws IOException {
        JsonNode meta = Fixtures.json("logits.json");
        int sentences = meta.get("sentences").asInt();
        int steps = meta.get("steps").asInt();
        int vocab = meta.get("vocab").asInt();
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(Fixtures.file("logits.f32"))).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals((long) sentences * steps * vocab * 4, buf.capacity());
        MarianModel model = engine.model();
        double worst = 0;
        for (int s = 0; s < sentences; s++) {
            JsonNode row = meta.get("rows").get(s);
            try (io.sparknmt.model.Workspace ws = new io.sparknmt.model.Workspace()) {
                EncoderOutput enc = model.encode(new int[][]{ints(row.get("src_ids"))}, ws);
                DecoderState st = model.newDecoderState(enc, 1, steps, ws);
                model.startDecoding(st, new int[]{0});
                for (int t = 0; t < steps; t++) {
                    int[] prefix = ints(row.get("prefix_ids_per_step").get(t));
                    model.decodeStep(st, new int[]{prefix[prefix.length - 1]});
                    float[] got = st.logits();
                    int base = (s * steps + t) * vocab;
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(worst, Math.abs(got[v] - buf.getFloat(4 * (base + v))));
                    }
                }
            }
        }
        System.out.printf("parity: max |logit diff| over %d sentences x %d steps x %d = %.3g%n", sentences, steps, vocab, worst);
        assertTrue(worst <= 1e-3, "max abs logit difference " + worst);
    }

    private static int[] withEos(Hypothesis h) {
        int[] t = h.tokens();
        if (!h.finished()) {
            return t;
        }
        int[] out = java.util.Arrays.copyOf(t, t.length + 1);
        out[t.length] = engine.model().config().eosId();
        return out;
    }

    private static int[][] sources() {
        int[][] src = new int[parity.size()][];
        for (int i = 0; i < src.length; i++) {
            src[i] = ints(parity.get(i).get("src_ids"));
        }
        return src;
    }

    @Test
    void greedyOutputsIdenticalForAtLeast99Percent() {
        int[][] src = sources();
        List<Translation> out = translateInBatches(src, DecodeOptions.greedy(engine.generation().maxLength()));
        int same = 0;
        List<String> diffs = new ArrayList<>();
        for (int i = 0; i < src.length; i++) {
            JsonNode p = parity.get(i);
            int[] expect = ints(p.get("greedy_ids"));
            if (java.util.Arrays.equals(expect, withEos(out.get(i).best()))) {
                same++;
                assertEquals(p.get("greedy_sum_logprob").asDouble(), out.get(i).best().sumLogProb(), 2e-3, "sentence " + i);
                assertEquals(p.get("greedy_text").asText(), out.get(i).text(), "sentence " + i);
            } else {
                diffs.add(i + " (margin " + p.path("greedy_min_margin").asDouble() + ")");
            }
        }
        System.out.printf("parity: greedy identical %d/%d; differing: %s%n", same, src.length, diffs);
        assertTrue(same >= Math.ceil(0.99 * src.length), same + "/" + src.length + " identical; differing " + diffs);
    }

    @Test
    void beam4OutputsIdenticalForAtLeast97Percent() {
        int[][] src = sources();
        List<Translation> out = translateInBatches(src, new DecodeOptions(4, engine.generation().maxLength(), 1.0, 4));
        int same = 0;
        List<Integer> diffs = new ArrayList<>();
        for (int i = 0; i < src.length; i++) {
            JsonNode p = parity.get(i);
            if (java.util.Arrays.equals(ints(p.get("beam4_ids")), withEos(out.get(i).best()))) {
                same++;
                assertEquals(p.get("beam4_score").asDouble(), out.get(i).best().score(), 1e-3, "sentence " + i);
                assertEquals(p.get("beam4_text").asText(), out.get(i).text(), "sentence " + i);
                assertNBestEquals(p.get("beam4_nbest"), out.get(i), 1e-3, "sentence " + i);
            } else {
                diffs.add(i);
            }
        }
        System.out.printf("parity: beam-4 identical %d/%d; differing: %s%n", same, src.length, diffs);
        assertTrue(same >= Math.ceil(0.97 * src.length), same + "/" + src.length + " identical; differing " + diffs);
    }

    /** Every n-best hypothesis: the same ids in the same order, scores within {@code tol}. */
    private static void assertNBestEquals(JsonNode expect, Translation got, double tol, String what) {
        assertEquals(expect.size(), got.nBest().size(), what + ": n-best size");
        for (int k = 0; k < expect.size(); k++) {
            Hypothesis h = got.nBest().get(k).hypothesis();
            int kk = k;
            assertArrayEquals(ints(expect.get(k).get("ids")), withEos(h), () -> what + ": n-best " + kk + " ids");
            assertEquals(expect.get(k).get("score").asDouble(), h.score(), tol, what + ": n-best " + k + " score");
        }
    }

    /**
     * Beams that run to max length (forced {@code </s>}), greedy cut at max length, and length
     * penalties other than 1.0, against the reference (parity_variants.jsonl): best ids and the
     * whole n-best list, ids and scores.
     */
    @Test
    void maxLengthAndLengthPenaltyVariantsMatchTheReference() throws IOException {
        List<JsonNode> rows = Fixtures.jsonl("parity_variants.jsonl");
        assertTrue(rows.size() >= 200);
        java.util.Map<String, int[]> sameByVariant = new java.util.TreeMap<>();
        for (JsonNode r : rows) {
            JsonNode v = r.get("variant");
            int beams = v.get("num_beams").asInt();
            DecodeOptions opt = new DecodeOptions(beams, v.get("max_length").asInt(),
                    v.get("length_penalty").asDouble(), beams);
            Translation t = engine.translateIds(new int[][]{ints(r.get("src_ids"))}, opt).get(0);
            int[] count = sameByVariant.computeIfAbsent(v.get("name").asText(), k -> new int[2]);
            count[1]++;
            if (java.util.Arrays.equals(ints(r.get("ids")), withEos(t.best()))) {
                count[0]++;
                assertNBestEquals(r.get("nbest"), t, 1e-4, v.get("name").asText() + ": " + r.get("text").asText());
            }
        }
        sameByVariant.forEach((name, c) -> System.out.printf("parity variant %s: identical %d/%d%n", name, c[0], c[1]));
        sameByVariant.forEach((name, c) -> assertTrue(c[0] >= Math.ceil(0.97 * c[1]), name + ": " + c[0] + "/" + c[1]));
    }

    static List<Translation> translateInBatches(int[][] src, DecodeOptions opt) {
        List<Translation> out = new ArrayList<>();
        for (int start = 0; start < src.length; start += 32) {
            out.addAll(engine.translateIds(java.util.Arrays.copyOfRange(src, start, Math.min(src.length, start + 32)), opt));
        }
        return out;
    }
}
