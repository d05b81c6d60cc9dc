package io.sparknmt.decode;

import static io.sparknmt.Fixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import io.sparknmt.model.GenerationConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every generation_config.json key that changes a Marian decode, against the Python reference
 * (tools/reference/make_generation_fixtures.py: transformers' logits processors in transformers'
 * order, BeamSearchScorer with early_stopping true/false/"never"): greedy and beam 4, best ids,
 * and when they agree the whole n-best list, ids and scores (1e-4).
 */
class GenerationParityTest {
    @TempDir
    static Path tmp;
    static Translator sample;
    static Translator padBias;
    static JsonNode meta;

    @BeforeAll
    static void load() throws IOException {
        meta = Fixtures.json("generation_cases.json");
        sample = Translator.load(TestPaths.sampleModel());
        Path dir = TestPaths.copySampleModel(tmp.resolve("pad-bias"));
        patch(dir.resolve("model.safetensors"), meta.get("pad_bias_patch"));
        padBias = Translator.load(dir);
    }

    @AfterAll
    static void close() {
        sample.close();
        padBias.close();
    }

    /** Writes the patch's bytes at element {@code index} of its tensor (the safetensors header gives the offset). */
    static void patch(Path file, JsonNode p) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long hlen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) hlen];
            f.readFully(header);
            JsonNode info = Fixtures.JSON.readTree(new String(header, StandardCharsets.UTF_8)).get(p.get("tensor").asText());
            assertEquals(p.get("dtype").asText(), info.get("dtype").asText());
            byte[] bytes = HexFormat.of().parseHex(p.get("bytes_hex").asText());
            f.seek(8 + hlen + info.get("data_offsets").get(0).asLong() + (long) bytes.length * p.get("index").asInt());
            f.write(bytes);
        }
    }

    @Test
    void fixturesWereMadeFromTheCommittedModel() throws Exception {
        JsonNode files = meta.get("model_sha256");
        assertTrue(files.size() >= 4, "the fixtures list the model files");
        for (java.util.Iterator<Map.Entry<String, JsonNode>> it = files.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            byte[] bytes = java.nio.file.Files.readAllBytes(TestPaths.sampleModel().resolve(e.getKey()));
            String sha = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            assertEquals(e.getValue().asText(), sha, e.getKey()
                    + " changed since the fixtures were made: rerun tools/reference/make_generation_fixtures.py");
        }
    }

    @Test
    void everyGenerationKeyMatchesTheReference() throws IOException {
        List<JsonNode> rows = Fixtures.jsonl("generation_parity.jsonl");
        Map<String, Translator> translators = new HashMap<>();
        Map<String, GenerationConfig> gens = new HashMap<>();
        Map<String, int[]> same = new TreeMap<>();
        Set<String> keys = new TreeSet<>();
        for (JsonNode r : rows) {
            String name = r.get("case").asText();
            JsonNode c = meta.get("cases").get(name);
            Translator base = c.get("model").asText().equals("pad_bias") ? padBias : sample;
            GenerationConfig gen = gens.computeIfAbsent(name, k -> {
                c.get("generation").fieldNames().forEachRemaining(keys::add);
                return GenerationConfig.parse(c.get("generation"), "case " + k, base.model().config(), false);
            });
            Translator t = translators.computeIfAbsent(name, k -> base.withGeneration(gen));
            DecodeOptions d = DecodeOptions.of(gen);
            boolean greedy = r.get("decode").asText().equals("greedy");
            DecodeOptions opt = new DecodeOptions(greedy ? 1 : 4, d.maxLength(), d.lengthPenalty(),
                    greedy ? 1 : d.nBest(), d.minNewTokens(), d.earlyStopping(), d.noRepeatNgramSize(),
                    d.repetitionPenalty());
            Translation got = t.translateIds(new int[][]{ints(r.get("src_ids"))}, opt).get(0);
            String what = name + "/" + r.get("decode").asText() + " sentence " + r.get("i").asInt();
            int[] count = same.computeIfAbsent(name + "/" + r.get("decode").asText(), k -> new int[2]);
            count[1]++;
            if (java.util.Arrays.equals(ints(r.get("ids")), withEos(got.best(), gen))) {
                count[0]++;
                JsonNode nb = r.get("nbest");
                assertEquals(nb.size(), got.nBest().size(), what + ": n-best size");
                for (int k = 0; k < nb.size(); k++) {
                    Hypothesis h = got.nBest().get(k).hypothesis();
                    int kk = k;
                    assertArrayEquals(ints(nb.get(k).get("ids")), withEos(h, gen), () -> what + ": n-best " + kk + " ids");
                    assertEquals(nb.get(k).get("score").asDouble(), h.score(), 1e-4, what + ": n-best " + k + " score");
                }
            }
        }
        int total = 0;
        int identical = 0;
        for (Map.Entry<String, int[]> e : same.entrySet()) {
            System.out.printf("generation parity %s: identical %d/%d%n", e.getKey(), e.getValue()[0], e.getValue()[1]);
            double need = e.getKey().endsWith("/greedy") ? 0.99 : 0.97;
            assertTrue(e.getValue()[0] >= Math.ceil(need * e.getValue()[1]), e.getKey() + ": " + e.getValue()[0] + "/"
                    + e.getValue()[1]);
            identical += e.getValue()[0];
            total += e.getValue()[1];
        }
        System.out.printf("generation parity, all cases: identical %d/%d%n", identical, total);
        assertEquals(meta.get("cases").size(), same.keySet().stream().map(k -> k.substring(0, k.indexOf('/'))).distinct().count(),
                "every case has rows");
        for (String k : List.of("renormalize_logits", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
                "repetition_penalty", "min_length", "min_new_tokens", "max_new_tokens", "early_stopping",
                "length_penalty", "num_return_sequences", "bad_words_ids", "forced_eos_token_id", "eos_token_id",
                "decoder_start_token_id")) {
            assertTrue(keys.contains(k), "a case sets " + k);
        }
        assertTrue(meta.get("renormalize_changes_pad_bias_beam4").asInt() > 0,
                "renormalize_logits changes some beam-4 outputs of the pad-bias model");
    }

    /** The hypothesis's ids as transformers returns them: with the generation config's </s> when finished. */
    private static int[] withEos(Hypothesis h, GenerationConfig gen) {
        int[] t = h.tokens();
        if (!h.finished()) {
            return t;
        }
        int[] out = java.util.Arrays.copyOf(t, t.length + 1);
        out[t.length] = gen.eosId();
        return out;
    }
}
