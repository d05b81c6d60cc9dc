package io.sparknmt.decode;

import static io.sparknmt.Fixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.Positions;
import io.sparknmt.model.TensorNames;
import io.sparknmt.model.Workspace;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model shapes other than the sample model's, against the Python reference: opus-mt-tc-big widths
 * (d_model 1024, 16 heads, FFN 4096, relu), an encoder deeper than the decoder, separate source
 * and target vocabularies (untied embeddings with a separate lm_head; and tied to the decoder
 * embedding; and one with real SentencePiece models, checked from text to text), one shared
 * embedding stored under an alias with a separate lm_head, odd widths
 * (d_model 200 with 5 and 8 heads, FFN 333/250, vocabulary 517), an odd d_model (205: one more
 * sine than cosine column in the position table), and one set of weights under relu, gelu,
 * gelu_new and swish. Random networks of this kind mostly repeat one token; the fixture tool
 * picks the {@code </s>} logit bias so that each case's outputs mix early ends and max-length
 * runs (checked here), and drops sources whose greedy choice is a near tie (margin below 1e-3).
 *
 * <p>The weights are not in the repository: {@code shapes.json} holds each model's recipe (config,
 * tensor list, seeds and scales), the source ids and the reference's greedy and beam-4 outputs,
 * written by {@code tools/reference/make_shape_fixtures.py}. This test draws the same float32
 * weights with the same PRNG ({@link Prng}), writes config.json, generation_config.json and
 * model.safetensors into a temporary directory, checks that the file is byte for byte the one the
 * reference decoded (its sha256), loads it through the normal path ({@link MarianConfig#read},
 * {@link MarianWeights#load}, {@link GenerationConfig#read}) and decodes all sources of a case as
 * one padded batch: greedy and beam-4 token ids must be identical, scores within 1e-4.
 */
class ShapesTest {
    static final double TOL = 1e-4;

    @TempDir
    static Path tmp;
    static JsonNode cases;

    @BeforeAll
    static void read() throws IOException {
        cases = Fixtures.json("shapes.json").get("cases");
    }

    /** The PRNG of make_shape_fixtures.py: splitmix64 over a counter, 24 bits to a float32. */
    static final class Prng {
        static final long GAMMA = 0x9E3779B97F4A7C15L;

        static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        static long fnv1a64(String s) {
            long h = 0xCBF29CE484222325L;
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                h = (h ^ (b & 0xff)) * 0x100000001B3L;
            }
            return h;
        }

        /** Value i of tensor {@code name}: float32(k - 2^23) * float32(scale * 2^-23) + offset. */
        static void fill(long caseSeed, String name, float scale, float offset, float[] out, long first) {
            long seed = mix(caseSeed ^ fnv1a64(name));
            float unit = scale * 0x1p-23f;
            for (int i = 0; i < out.length; i++) {
                long k = mix(seed + (first + i + 1) * GAMMA) >>> 40;
                out[i] = (float) (k - (1 << 23)) * unit + offset;
            }
        }
    }

    /** Writes the case's model directory; returns the sha256 of model.safetensors. */
    static String writeModel(JsonNode c, Path dir) throws IOException {
        return writeModel(c, dir, n -> n);
    }

    /** As {@link #writeModel(JsonNode, Path)}, with every tensor stored under {@code rename(name)}. */
    static String writeModel(JsonNode c, Path dir, java.util.function.UnaryOperator<String> rename) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), Fixtures.JSON.writeValueAsString(c.get("config")));
        Files.writeString(dir.resolve("generation_config.json"), Fixtures.JSON.writeValueAsString(c.get("generation")));
        if (c.hasNonNull("tokenizer_dir")) {
            for (String f : List.of("source.spm", "target.spm", "vocab.json", "target_vocab.json", "tokenizer_config.json")) {
                Files.copy(Fixtures.file(c.get("tokenizer_dir").asText()).resolve(f), dir.resolve(f));
            }
        }
        StringBuilder h = new StringBuilder("{");
        long off = 0;
        for (JsonNode t : c.get("tensors")) {
            long n = count(t);
            if (h.length() > 1) {
                h.append(',');
            }
            h.append('"').append(rename.apply(t.get("name").asText())).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(t.get("shape").toString()).append(",\"data_offsets\":[").append(off).append(',')
                    .append(off + 4 * n).append("]}");
            off += 4 * n;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.US_ASCII);
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long seed = c.get("seed").asLong();
        try (OutputStream os = new DigestOutputStream(
                new java.io.BufferedOutputStream(Files.newOutputStream(dir.resolve("model.safetensors")), 1 << 20), sha)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            os.write(header);
            float[] chunk = new float[1 << 16];
            ByteBuffer bytes = ByteBuffer.allocate(4 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (JsonNode t : c.get("tensors")) {
                long n = count(t);
                float[] all = null;
                if (t.path("sinusoid").asBoolean(false)) {
                    all = Positions.sinusoidal(t.get("shape").get(0).asInt(), t.get("shape").get(1).asInt());
                } else if (t.has("set")) {
                    all = new float[Math.toIntExact(n)];
                    Prng.fill(seed, t.get("name").asText(), (float) t.get("scale").asDouble(),
                            (float) t.get("offset").asDouble(), all, 0);
                    for (JsonNode s : t.get("set")) {
                        all[s.get(0).asInt()] = (float) s.get(1).asDouble();
                    }
                }
                for (long at = 0; at < n; at += chunk.length) {
                    int len = (int) Math.min(chunk.length, n - at);
                    if (all != null) {
                        System.arraycopy(all, (int) at, chunk, 0, len);
                    } else {
                        float[] part = len == chunk.length ? chunk : new float[len];
                        Prng.fill(seed, t.get("name").asText(), (float) t.get("scale").asDouble(),
                                (float) t.get("offset").asDouble(), part, at);
                        if (part != chunk) {
                            System.arraycopy(part, 0, chunk, 0, len);
                        }
                    }
                    bytes.clear();
                    for (int i = 0; i < len; i++) {
                        bytes.putFloat(chunk[i]);
                    }
                    os.write(bytes.array(), 0, 4 * len);
                }
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static long count(JsonNode t) {
        long n = 1;
        for (JsonNode s : t.get("shape")) {
            n *= s.asLong();
        }
        return n;
    }

    private static int[] withEos(Hypothesis h, int eos) {
        if (!h.finished()) {
            return h.tokens();
        }
        int[] out = Arrays.copyOf(h.tokens(), h.tokens().length + 1);
        out[h.tokens().length] = eos;
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyShapeDecodesAsTheReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> checkCase(c)));
        }
        assertTrue(tests.size() >= 12, "shapes.json has the tc-big, deep-encoder, separate-vocab, odd and activation cases");
        return tests.stream();
    }

    static void checkCase(JsonNode c) throws IOException {
        String name = c.get("name").asText();
        Path dir = tmp.resolve(name);
        String sha = writeModel(c, dir);
        assertEquals(c.get("safetensors_sha256").asText(), sha,
                name + ": the regenerated model.safetensors differs from the one the reference decoded (PRNG or writer)");
        MarianConfig cfg = MarianConfig.read(dir.resolve("config.json"));
        MarianWeights w = MarianWeights.load(dir, cfg);
        GenerationConfig gen = GenerationConfig.read(dir, cfg);
        checkPathExercised(name, c, cfg, w);
        List<JsonNode> rows = new ArrayList<>();
        c.get("rows").forEach(rows::add);
        int[][] src = new int[rows.size()][];
        for (int i = 0; i < src.length; i++) {
            src[i] = ints(rows.get(i).get("src_ids"));
        }
        int maxLength = c.get("generation").get("max_length").asInt();
        List<Kernels> kernels = new ArrayList<>(List.of(KernelProvider.get()));
        if (cfg.dModel() <= 256) {
            kernels.add(KernelProvider.scalar()); // the portable kernels too, where it is cheap
        }
        for (Kernels k : kernels) {
            MarianModel model = new MarianModel(w, k);
            String what = name + " [" + k.getClass().getSimpleName() + "]";
            double worstSum = 0;
            double worstScore = 0;
            try (Workspace ws = new Workspace()) {
                EncoderOutput enc = model.encode(src, ws);
                Hypothesis[] greedy = GreedySearch.run(model, gen, enc, DecodeOptions.greedy(maxLength), ws);
                for (int i = 0; i < src.length; i++) {
                    JsonNode r = rows.get(i);
                    assertArrayEquals(ints(r.get("greedy_ids")), withEos(greedy[i], cfg.eosId()), what + " greedy ids, sentence " + i);
                    // the score (sum / length) to 1e-4; the sum to 1e-4 per generated token: a
                    // forced </s> at max_length adds a log-probability far from 0, whose float32
                    // noise (~1e-4 on logits of magnitude ~50) the chosen tokens' do not show
                    double sumDiff = Math.abs(r.get("greedy_sum_logprob").asDouble() - greedy[i].sumLogProb());
                    worstSum = Math.max(worstSum, sumDiff);
                    assertTrue(sumDiff <= TOL * greedy[i].generatedLength(), what + " greedy sum, sentence " + i
                            + ": " + r.get("greedy_sum_logprob").asDouble() + " vs " + greedy[i].sumLogProb());
                    assertEquals(r.get("greedy_score").asDouble(), greedy[i].score(), TOL, what + " greedy score, sentence " + i);
                }
                enc = model.encode(src, ws);
                List<List<Hypothesis>> beams = BeamSearch.run(model, gen, enc, new DecodeOptions(4, maxLength, 1.0, 4), ws);
                for (int i = 0; i < src.length; i++) {
                    JsonNode r = rows.get(i);
                    List<Hypothesis> got = beams.get(i);
                    assertArrayEquals(ints(r.get("beam4_ids")), withEos(got.get(0), cfg.eosId()), what + " beam-4 ids, sentence " + i);
                    worstScore = Math.max(worstScore, Math.abs(r.get("beam4_score").asDouble() - got.get(0).score()));
                    assertEquals(r.get("beam4_score").asDouble(), got.get(0).score(), TOL, what + " beam-4 score, sentence " + i);
                    JsonNode nbest = r.get("beam4_nbest");
                    assertEquals(nbest.size(), got.size(), what + " n-best size, sentence " + i);
                    for (int k2 = 0; k2 < nbest.size(); k2++) {
                        assertArrayEquals(ints(nbest.get(k2).get("ids")), withEos(got.get(k2), cfg.eosId()),
                                what + " n-best " + k2 + " ids, sentence " + i);
                        assertEquals(nbest.get(k2).get("score").asDouble(), got.get(k2).score(), TOL,
                                what + " n-best " + k2 + " score, sentence " + i);
                    }
                }
            }
            System.out.printf("shapes: %s: worst |greedy sum diff| %.2g, worst |beam-4 score diff| %.2g%n", what, worstSum,
                    worstScore);
        }
        if (c.hasNonNull("tokenizer_dir")) {
            checkTokenizerPath(c, dir, rows, maxLength);
        }
        System.out.printf("shapes: %s (d_model %d, %d+%d layers, vocab %d/%d, %s): %d sentences identical%n", name,
                cfg.dModel(), cfg.encoderLayers(), cfg.decoderLayers(), cfg.vocabSize(), cfg.decoderVocabSize(),
                cfg.activation(), src.length);
    }

    /**
     * The whole path from text: ModelBundle (tokenizer_config.json's separate_vocabs, vocab.json
     * and target_vocab.json of different sizes), source ids through source.spm and vocab.json,
     * output text through target_vocab.json and target.spm.
     */
    static void checkTokenizerPath(JsonNode c, Path dir, List<JsonNode> rows, int maxLength) {
        try (Translator t = Translator.load(dir)) {
            assertNotEquals(t.model().config().vocabSize(), t.model().config().decoderVocabSize());
            List<String> texts = new ArrayList<>();
            for (JsonNode r : rows) {
                texts.add(r.get("text").asText());
                assertArrayEquals(ints(r.get("src_ids")), t.tokenizer().encode(r.get("text").asText()),
                        "source ids of \"" + r.get("text").asText() + "\"");
            }
            List<Translation> greedy = t.translate(texts, DecodeOptions.greedy(maxLength), 64, 4096);
            List<Translation> beam = t.translate(texts, new DecodeOptions(4, maxLength, 1.0, 1), 64, 4096);
            boolean someText = false;
            for (int i = 0; i < rows.size(); i++) {
                JsonNode r = rows.get(i);
                assertEquals(r.get("greedy_text").asText(), greedy.get(i).text(), "greedy text of sentence " + i);
                assertEquals(r.get("beam4_text").asText(), beam.get(i).text(), "beam-4 text of sentence " + i);
                assertEquals(r.get("beam4_score").asDouble(), beam.get(i).best().score(), TOL, "beam-4 score of sentence " + i);
                someText |= !greedy.get(i).text().isEmpty() || !beam.get(i).text().isEmpty();
            }
            assertTrue(someText, "some output decodes to text through target_vocab.json and target.spm");
        }
    }

    /** The case is what its name says, and its reference outputs are not degenerate. */
    static void checkPathExercised(String name, JsonNode c, MarianConfig cfg, MarianWeights w) {
        int maxLength = c.get("generation").get("max_length").asInt();
        int early = 0;
        int total = 0;
        int atOnce = 0;
        for (JsonNode r : c.get("rows")) {
            for (String f : List.of("greedy_ids", "beam4_ids")) {
                int len = r.get(f).size();
                total++;
                early += len < maxLength - 1 ? 1 : 0;
                atOnce += len == 1 ? 1 : 0;
            }
        }
        assertTrue(early > 0 && early < total, name + ": outputs neither all stop early nor all run to max_length");
        assertTrue(atOnce < total, name + ": not every output is </s> at the first step");
        if (name.startsWith("separate_vocabs")) {
            assertFalse(cfg.shareEmbeddings());
            assertNotEquals(cfg.vocabSize(), cfg.decoderVocabSize(), "source and target vocabularies differ in size");
            assertEquals(cfg.vocabSize() * cfg.dModel(), w.get(TensorNames.ENCODER_EMBED).length);
            assertEquals(cfg.decoderVocabSize() * cfg.dModel(), w.get(TensorNames.DECODER_EMBED).length);
            assertEquals(cfg.decoderVocabSize(), w.get(TensorNames.FINAL_LOGITS_BIAS).length);
            if (cfg.tieWordEmbeddings()) {
                assertSame(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD), "lm_head tied to the decoder embedding");
            } else {
                assertNotSame(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD));
                assertFalse(Arrays.equals(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD)),
                        "the separate lm_head holds other values than the decoder embedding");
            }
        }
        if (name.equals("tc_big")) {
            assertEquals(1024, cfg.dModel());
            assertEquals(16, cfg.encoderHeads());
            assertEquals(4096, cfg.encoderFfn());
        }
        if (name.equals("shared_untied_lm_head")) {
            assertTrue(cfg.shareEmbeddings() && !cfg.tieWordEmbeddings());
            assertSame(w.get(TensorNames.ENCODER_EMBED), w.get(TensorNames.DECODER_EMBED));
            assertFalse(Arrays.equals(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD)));
        }
        if (name.equals("odd_d_model")) {
            assertEquals(1, cfg.dModel() % 2);
        }
        if (name.equals("deep_encoder")) {
            assertTrue(cfg.encoderLayers() > cfg.decoderLayers());
        }
        float[] bias = w.get(TensorNames.FINAL_LOGITS_BIAS);
        assertTrue(bias[1] != 0f && bias[bias.length - 2] != 0f, name + ": final_logits_bias is not zero");
    }

    /**
     * A checkpoint saved from the base MarianModel ({@code shared.weight}, {@code encoder.layers...},
     * {@code decoder.layers...}: no {@code model.} prefix) holds the same model: transformers loads
     * it into MarianMTModel's base model, and the reference maps the names the same way. The
     * odd_dims weights stored so decode exactly as the fixture says.
     */
    @Test
    void checkpointWithoutTheModelPrefixDecodesTheSame() throws IOException {
        JsonNode c = null;
        for (JsonNode x : cases) {
            if (x.get("name").asText().equals("odd_dims")) {
                c = x;
            }
        }
        Path dir = tmp.resolve("bare-names");
        writeModel(c, dir, n -> n.startsWith("model.") ? n.substring("model.".length()) : n);
        MarianConfig cfg = MarianConfig.read(dir.resolve("config.json"));
        MarianWeights w = MarianWeights.load(dir, cfg);
        MarianModel model = new MarianModel(w, KernelProvider.get());
        GenerationConfig gen = GenerationConfig.read(dir, cfg);
        int maxLength = c.get("generation").get("max_length").asInt();
        for (JsonNode r : c.get("rows")) {
            int[][] src = {ints(r.get("src_ids"))};
            Hypothesis g;
            Hypothesis b;
            try (Workspace ws = new Workspace()) {
                g = GreedySearch.run(model, gen, model.encode(src, ws), DecodeOptions.greedy(maxLength), ws)[0];
            }
            try (Workspace ws = new Workspace()) {
                b = BeamSearch.run(model, gen, model.encode(src, ws), new DecodeOptions(4, maxLength, 1.0, 1), ws).get(0).get(0);
            }
            assertArrayEquals(ints(r.get("greedy_ids")), withEos(g, cfg.eosId()));
            assertEquals(r.get("greedy_score").asDouble(), g.score(), TOL);
            assertArrayEquals(ints(r.get("beam4_ids")), withEos(b, cfg.eosId()));
            assertEquals(r.get("beam4_score").asDouble(), b.score(), TOL);
        }
    }

    /**
     * The activation cases share every weight: their reference outputs must differ pairwise, so
     * matching each one shows the engine applies the configured function.
     */
    @Test
    void activationCasesShareWeightsButNotOutputs() {
        List<JsonNode> acts = new ArrayList<>();
        cases.forEach(c -> {
            if (c.path("activation_group").asBoolean(false)) {
                acts.add(c);
            }
        });
        assertEquals(4, acts.size());
        for (int a = 0; a < acts.size(); a++) {
            for (int b = a + 1; b < acts.size(); b++) {
                JsonNode x = acts.get(a);
                JsonNode y = acts.get(b);
                assertEquals(x.get("safetensors_sha256").asText(), y.get("safetensors_sha256").asText(),
                        "the activation cases share one model.safetensors");
                assertNotEquals(x.get("config").get("activation_function"), y.get("config").get("activation_function"));
                boolean differ = false;
                int common = 0;
                for (JsonNode rx : x.get("rows")) {
                    for (JsonNode ry : y.get("rows")) {
                        if (rx.get("src_ids").equals(ry.get("src_ids"))) {
                            common++;
                            differ |= Math.abs(rx.get("beam4_score").asDouble() - ry.get("beam4_score").asDouble()) > 1e-3
                                    || Math.abs(rx.get("greedy_sum_logprob").asDouble()
                                    - ry.get("greedy_sum_logprob").asDouble()) > 1e-3;
                        }
                    }
                }
                assertTrue(common > 0, "the activation cases decode common sources");
                assertTrue(differ, x.get("name").asText() + " and " + y.get("name").asText() + " give the same outputs");
            }
        }
    }
}
