package io.sparknmt.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.checkpoint.MarianNativeWriter.Npy;
import io.sparknmt.tokenizer.MarianTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MarianNativeTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        return TestPaths.repo().resolve("src/test/resources/checkpoints").resolve(name);
    }

    /** Arrays written by numpy.savez and savez_compressed: f4, f2, f8, a Fortran-ordered matrix, bytes. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny.npz", "tiny-compressed.npz"})
    void numpyFilesReadWithTheExactValues(String name) throws IOException {
        JsonNode exp = new ObjectMapper().readTree(fixture("tiny-npz.json").toFile()).path("arrays");
        try (MarianNpz npz = MarianNpz.open(fixture(name))) {
            for (Iterator<Map.Entry<String, JsonNode>> it = exp.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                MarianNpz.Array a = npz.arrays().get(e.getKey());
                assertEquals(e.getValue().path("descr").asText(), a.descr());
                assertEquals(e.getValue().path("fortran").asBoolean(), a.fortran());
                JsonNode v = e.getValue().path("values");
                float[] want = new float[v.size()];
                for (int i = 0; i < want.length; i++) {
                    want[i] = (float) v.get(i).asDouble();
                }
                assertArrayEquals(want, npz.floats(e.getKey()), e.getKey());
            }
            assertEquals("type: transformer\ndim-emb: 8\n\0", new String(npz.bytes(MarianNpz.CONFIG_KEY), StandardCharsets.UTF_8));
        }
    }

    /**
     * tiny-marian/ was written by tools/checkpoints/to_marian.py from tiny-hf/ (numpy.savez, the
     * YAML in yaml-cpp's style): mapped back, every tensor and the config equal the HF form's.
     */
    @Test
    void releaseWrittenByThePythonToolMapsBackOntoItsHfForm() throws IOException {
        Path hf = fixture("tiny-hf");
        Path conv = MarianRelease.toHuggingFaceLayout(fixture("tiny-marian"));
        MarianConfig want = MarianConfig.read(hf.resolve("config.json"));
        MarianConfig got = MarianConfig.read(conv.resolve("config.json"));
        assertEquals(want, got);
        assertEquals(io.sparknmt.model.ModelFiles.readVocab(hf.resolve("vocab.json")), io.sparknmt.model.ModelFiles.readVocab(conv.resolve("vocab.json")));
        MarianWeights a = MarianWeights.load(hf, want);
        MarianWeights b = MarianWeights.load(conv, got);
        assertEquals(a.parameterCount(), b.parameterCount());
        try (TensorSource src = Checkpoints.open(hf)) {
            for (String n : src.names()) {
                String k = n.equals("model.shared.weight") ? "model.encoder.embed_tokens.weight" : n;
                assertArrayEquals(a.get(k), b.get(k), k);
            }
        }
        assertEquals(3, new ObjectMapper().readTree(conv.resolve("config.json").toFile()).path("num_beams").asInt());
    }

    /** Optional: a release written by to_marian.py from the sample model (-Dspark.nmt.marianRelease=DIR). */
    @Test
    void sampleReleaseFromThePythonToolIfGiven() throws IOException {
        String p = System.getProperty("spark.nmt.marianRelease");
        org.junit.jupiter.api.Assumptions.assumeTrue(p != null, "set -Dspark.nmt.marianRelease to check a to_marian.py output");
        ModelBundle py = ModelBundle.load(Path.of(p));
        MarianNativeWriter.writeRelease(TestPaths.sampleModel(), dir.resolve("java"), "<f4", Map.of());
        ModelBundle java = ModelBundle.load(dir.resolve("java"));
        assertEquals(java.config(), py.config());
        assertEquals(java.weights().parameterCount(), py.weights().parameterCount());
        try (TensorSource src = Checkpoints.open(TestPaths.sampleModel())) {
            for (String n : src.names()) {
                String k = n.equals("model.shared.weight") ? "model.encoder.embed_tokens.weight" : n;
                assertArrayEquals(java.weights().get(k), py.weights().get(k), k);
            }
        }
    }

    @Test
    void miniYamlReadsMarianStyleAndRefusesTheRest() {
        Map<String, Object> m = MiniYaml.parse("# c\n\"</s>\": 0\n'it''s': 1\n\"\\u2581\\\"x\\\\\": 2\n▁a: 3 # note\n"
                + "list:\n  - a\n  - \"b c\"\nflow: [1, 2]\nempty: \"\"\nnone:\n", "t.yml");
        assertEquals("0", m.get("</s>"));
        assertEquals("1", m.get("it's"));
        assertEquals("2", m.get("\u2581\"x\\"));
        assertEquals("3", m.get("▁a"));
        assertEquals(List.of("a", "b c"), m.get("list"));
        assertEquals(List.of("1", "2"), m.get("flow"));
        assertEquals("", m.get("empty"));
        assertEquals("", m.get("none"));
        for (String bad : List.of("a: 1\na: 2\n", "a:\n  b: 1\n", "a: &x 1\n", "? a\n: 1\n", "a: \"\\q\"\n", "a: \"open\n",
                "a: |\n  x\n")) {
            ModelFormatException ex = assertThrows(ModelFormatException.class, () -> MiniYaml.parse(bad, "bad.yml"), bad);
            assertTrue(ex.getMessage().startsWith("bad.yml line "), ex.getMessage());
        }
    }

    // ------------------------------------------------------------ hostile / unsupported releases

    private Path tinyRelease(String name) throws IOException {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        try (var s = Files.list(fixture("tiny-marian"))) {
            for (Path f : s.toList()) {
                Files.copy(f, d.resolve(f.getFileName()));
            }
        }
        return d;
    }

    private static String refused(Path release) {
        long t0 = System.nanoTime();
        ModelFormatException ex = assertThrows(ModelFormatException.class, () -> ModelBundle.load(release));
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 10_000);
        return ex.getMessage();
    }

    /** Rewrites tiny.npz with one array replaced (or removed when {@code a} is null). */
    private static void patchNpz(Path release, String name, Npy a) throws IOException {
        Path f = release.resolve("tiny.npz");
        Map<String, Npy> arrays = new LinkedHashMap<>();
        try (MarianNpz npz = MarianNpz.open(f)) {
            for (MarianNpz.Array x : npz.arrays().values()) {
                arrays.put(x.name(), x.descr().endsWith("1") ? new Npy(x.descr(), x.shape(), npz.bytes(x.name()))
                        : new Npy("<f4", x.shape(), npz.floats(x.name())));
            }
        }
        if (a == null) {
            arrays.remove(name);
        } else {
            arrays.put(name, a);
        }
        MarianNativeWriter.writeNpz(f, arrays);
    }

    private static void patchConfig(Path release, String from, String to) throws IOException {
        String y;
        try (MarianNpz npz = MarianNpz.open(release.resolve("tiny.npz"))) {
            y = new String(npz.bytes(MarianNpz.CONFIG_KEY), StandardCharsets.UTF_8);
        }
        assertTrue(y.contains(from), y);
        byte[] b = y.replace(from, to).getBytes(StandardCharsets.UTF_8);
        patchNpz(release, MarianNpz.CONFIG_KEY, new Npy("|u1", new int[]{b.length}, b));
    }

    @Test
    void brokenNpzFilesAreRefusedNamingTheFileAndArray() throws IOException {
        Path r = tinyRelease("trunc");
        byte[] b = Files.readAllBytes(r.resolve("tiny.npz"));
        Files.write(r.resolve("tiny.npz"), Arrays.copyOf(b, b.length / 2));
        String m = refused(r);
        assertTrue(m.contains("tiny.npz") && m.contains("truncated"), m);

        r = tinyRelease("lying");
        patchNpz(r, "encoder_l1_ffn_W1", new Npy("<f4", new int[]{8, 16}, new float[8]));
        m = refused(r);
        assertTrue(m.contains("array encoder_l1_ffn_W1") && m.contains("needs 512 data bytes but the entry holds 32"), m);

        r = tinyRelease("object");
        Path f = r.resolve("tiny.npz");
        Map<String, Npy> one = new LinkedHashMap<>();
        one.put("Wemb", new Npy("|O", new int[]{1}, new byte[]{0}));
        MarianNativeWriter.writeNpz(f, one);
        m = refused(r);
        assertTrue(m.contains("array Wemb: dtype '|O' is not supported"), m);

        r = tinyRelease("wpos");
        patchNpz(r, "Wpos", new Npy("<f4", new int[]{8, 8}, new float[64]));
        m = refused(r);
        assertTrue(m.contains("Marian tensor Wpos has no Hugging Face Marian counterpart"), m);

        r = tinyRelease("untied-out");
        patchNpz(r, "decoder_ff_logit_out_Wt", new Npy("<f4", new int[]{8, 11}, new float[88]));
        assertTrue(refused(r).contains("decoder_ff_logit_out_Wt has no Hugging Face Marian counterpart"));

        r = tinyRelease("noconfig");
        patchNpz(r, MarianNpz.CONFIG_KEY, null);
        assertTrue(refused(r).contains("no special:model.yml array"));

        r = tinyRelease("wrongshape");
        patchNpz(r, "decoder_l2_context_Wq", new Npy("<f4", new int[]{8, 4}, new float[32]));
        m = refused(r);
        assertTrue(m.contains("Marian tensor decoder_l2_context_Wq (model.decoder.layers.1.encoder_attn.q_proj.weight)"
                + " has shape [8, 4]"), m);
    }

    @Test
    void settingsTheConverterRefusesAreRefusedByName() throws IOException {
        Path r = tinyRelease("preprocess");
        patchConfig(r, "transformer-preprocess: \"\"", "transformer-preprocess: n");
        String m = refused(r);
        assertTrue(m.contains("special:model.yml") && m.contains("transformer-preprocess is n"), m);

        r = tinyRelease("trainpos");
        patchConfig(r, "transformer-train-position-embeddings: false", "transformer-train-position-embeddings: true");
        assertTrue(refused(r).contains("transformer-train-position-embeddings is true"));

        r = tinyRelease("untied");
        patchConfig(r, "tied-embeddings-all: true", "tied-embeddings-all: false");
        patchConfig(r, "tied-embeddings: true", "tied-embeddings: false");
        assertTrue(refused(r).contains("tied-embeddings is false"));

        r = tinyRelease("missing");
        patchConfig(r, "right-left: false\n", "");
        assertTrue(refused(r).contains("setting right-left is missing"));

        r = tinyRelease("vocab");
        Files.writeString(r.resolve("opus.spm-spm.vocab.yml"), "\"</s>\": 0\n\"<unk>\": 1\n");
        m = refused(r);
        assertTrue(m.contains("the vocabulary has 2 pieces") && m.contains("embeddings have 11 rows"), m);

        r = tinyRelease("decoderyml");
        Files.writeString(r.resolve("decoder.yml"), "models:\n  - other.npz\n");
        assertTrue(refused(r).contains("other.npz (named in decoder.yml) is missing"));
    }

    /** tied-embeddings-src false: encoder_Wemb + decoder_Wemb, *.src.vocab.yml + *.trg.vocab.yml. */
    @Test
    void separateEmbeddingsAndVocabularies() throws IOException {
        Path r = tinyRelease("separate");
        float[] wemb;
        int[] shape;
        try (MarianNpz npz = MarianNpz.open(r.resolve("tiny.npz"))) {
            wemb = npz.floats("Wemb");
            shape = npz.arrays().get("Wemb").shape();
        }
        patchNpz(r, "Wemb", null);
        patchNpz(r, "encoder_Wemb", new Npy("<f4", shape, wemb));
        float[] dec = wemb.clone();
        dec[0] += 1f;
        patchNpz(r, "decoder_Wemb", new Npy("<f4", shape, dec));
        patchConfig(r, "tied-embeddings-all: true", "tied-embeddings-all: false");
        Files.move(r.resolve("opus.spm-spm.vocab.yml"), r.resolve("opus.src.vocab.yml"));
        Files.copy(r.resolve("opus.src.vocab.yml"), r.resolve("opus.trg.vocab.yml"));
        Files.writeString(r.resolve("decoder.yml"), "models:\n  - tiny.npz\nbeam-size: 2\n");
        Path conv = MarianRelease.toHuggingFaceLayout(r);
        MarianConfig c = MarianConfig.read(conv.resolve("config.json"));
        assertTrue(!c.shareEmbeddings() && c.tieWordEmbeddings());
        assertTrue(new ObjectMapper().readTree(conv.resolve("tokenizer_config.json").toFile()).path("separate_vocabs").asBoolean());
        assertEquals(io.sparknmt.model.ModelFiles.readVocab(conv.resolve("vocab.json")), io.sparknmt.model.ModelFiles.readVocab(conv.resolve("target_vocab.json")));
        MarianWeights w = MarianWeights.load(conv, c);
        float[] enc = w.get("model.encoder.embed_tokens.weight");
        assertArrayEquals(Arrays.copyOf(wemb, enc.length), enc);
        assertArrayEquals(Arrays.copyOf(dec, enc.length), w.get("model.decoder.embed_tokens.weight"));
        assertTrue(w.get("lm_head.weight") == w.get("model.decoder.embed_tokens.weight"));
        assertEquals(2, ModelBundle.load(r).generation().numBeams());
    }

    @Test
    void zipReleaseWithABombEntryIsRefused() throws IOException {
        Path zip = dir.resolve("bomb.zip");
        try (var z = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
            z.putNextEntry(new java.util.zip.ZipEntry("m/model.npz"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                z.write(zeros); // 64 MB of zeros deflate to ~64 KB: plausible, extracted, then not an npz
            }
            z.closeEntry();
        }
        String m = refused(zip);
        assertTrue(m.contains("model.npz"), m);
    }
}
