package io.sparknmt.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.Safetensors;
import io.sparknmt.model.SafetensorsWriter;
import io.sparknmt.model.TensorNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample model in every checkpoint form (pytorch_model.bin zip and legacy, sharded
 * safetensors and .bin, a Marian-native release directory and .zip, a fake hub cache), written
 * at test time from the committed safetensors form, decodes exactly as the safetensors form.
 */
class CheckpointFormatsTest {
    @TempDir
    static Path tmp;

    static final List<String> SMALL_FILES = List.of("config.json", "generation_config.json", "tokenizer_config.json",
            "vocab.json", "source.spm", "target.spm");
    static List<String> corpus;
    static Map<String, float[]> tensors = new LinkedHashMap<>();
    static Map<String, int[]> shapes = new LinkedHashMap<>();
    static List<Translation> reference;
    static DecodeOptions beam4;

    @BeforeAll
    static void readSample() throws IOException {
        try (Safetensors st = Safetensors.open(TestPaths.sampleModel().resolve("model.safetensors"))) {
            for (Safetensors.Entry e : st.entries().values()) {
                tensors.put(e.name(), st.read(e.name(), e.shape()));
                shapes.put(e.name(), e.shape());
            }
        }
        corpus = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"));
        ModelBundle b = ModelBundle.load(TestPaths.sampleModel());
        beam4 = new DecodeOptions(4, 512, 1.0, 4);
        reference = translate(b, beam4);
    }

    @AfterAll
    static void clear() {
        tensors.clear();
    }

    static List<Translation> translate(ModelBundle b, DecodeOptions opt) {
        try (Translator t = Translator.of(b, KernelProvider.get())) {
            return t.translate(corpus, opt, 32, 4096);
        }
    }

    static void assertSameTranslations(List<Translation> want, List<Translation> got, String form) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).text(), got.get(i).text(), form + " sentence " + i);
            assertArrayEquals(want.get(i).best().tokens(), got.get(i).best().tokens(), form + " sentence " + i);
            assertEquals(want.get(i).best().score(), got.get(i).best().score(), 0.0, form + " score of sentence " + i);
            assertEquals(want.get(i).nBest().size(), got.get(i).nBest().size(), form);
            for (int k = 0; k < want.get(i).nBest().size(); k++) {
                assertEquals(want.get(i).nBest().get(k).hypothesis().score(), got.get(i).nBest().get(k).hypothesis().score(),
                        0.0, form + " n-best " + k + " of sentence " + i);
            }
        }
    }

    static Path withSmallFiles(String name) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        for (String f : SMALL_FILES) {
            Files.copy(TestPaths.sampleModel().resolve(f), d.resolve(f));
        }
        return d;
    }

    /** As transformers saves a tied Marian model: all four embedding names on one storage. */
    static TorchWriter torchWriter(List<String> names) {
        TorchWriter w = new TorchWriter();
        for (String n : names) {
            w.put(n, "F16", shapes.get(n), tensors.get(n));
        }
        if (names.contains(TensorNames.SHARED)) {
            w.tie(TensorNames.ENCODER_EMBED, TensorNames.SHARED).tie(TensorNames.DECODER_EMBED, TensorNames.SHARED)
                    .tie(TensorNames.LM_HEAD, TensorNames.SHARED);
        }
        return w;
    }

    static void assertSameWeights(Path dir) {
        ModelBundle a = ModelBundle.load(TestPaths.sampleModel());
        ModelBundle b = ModelBundle.load(dir);
        for (String n : tensors.keySet()) {
            if (n.equals(TensorNames.SHARED)) {
                n = TensorNames.ENCODER_EMBED;
            }
            assertArrayEquals(a.weights().get(n), b.weights().get(n), dir + ": " + n);
        }
    }

    @Test
    void pytorchModelBinZipAndLegacyDecodeAsTheSafetensorsForm() throws IOException {
        List<String> names = new ArrayList<>(tensors.keySet());
        for (boolean legacy : new boolean[]{false, true}) {
            Path d = withSmallFiles(legacy ? "bin-legacy" : "bin-zip");
            long t0 = System.nanoTime();
            TorchWriter w = torchWriter(names);
            if (legacy) {
                w.writeLegacy(d.resolve("pytorch_model.bin"));
            } else {
                w.writeZip(d.resolve("pytorch_model.bin"));
            }
            long t1 = System.nanoTime();
            ModelBundle b = ModelBundle.load(d);
            long t2 = System.nanoTime();
            System.out.printf("pytorch_model.bin (%s, %d bytes): written in %d ms, loaded in %d ms%n",
                    legacy ? "legacy" : "zip", Files.size(d.resolve("pytorch_model.bin")), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            try (TorchCheckpoint ck = TorchCheckpoint.open(d.resolve("pytorch_model.bin"))) {
                assertTrue(ck.sharesStorage(TensorNames.SHARED, TensorNames.LM_HEAD));
            }
            assertSameWeights(d);
            assertSameTranslations(reference, translate(b, beam4), legacy ? "legacy .bin" : "zip .bin");
        }
    }

    @Test
    void shardedSafetensorsAndBinLoadTheSameTensors() throws IOException {
        List<String> names = new ArrayList<>(tensors.keySet());
        List<String> first = names.subList(0, names.size() / 2);
        List<String> second = names.subList(names.size() / 2, names.size());
        Path st = withSmallFiles("sharded-st");
        Path bin = withSmallFiles("sharded-bin");
        StringBuilder stIndex = new StringBuilder("{\"metadata\":{\"total_size\":1},\"weight_map\":{");
        StringBuilder binIndex = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        for (int s = 0; s < 2; s++) {
            List<String> part = s == 0 ? first : second;
            String stName = "model-0000" + (s + 1) + "-of-00002.safetensors";
            String binName = "pytorch_model-0000" + (s + 1) + "-of-00002.bin";
            SafetensorsWriter w = new SafetensorsWriter();
            for (String n : part) {
                w.put(n, "F16", shapes.get(n), tensors.get(n));
                stIndex.append('"').append(n).append("\":\"").append(stName).append("\",");
                binIndex.append('"').append(n).append("\":\"").append(binName).append("\",");
            }
            w.write(st.resolve(stName));
            torchWriter(part).writeZip(bin.resolve(binName));
        }
        stIndex.setLength(stIndex.length() - 1);
        binIndex.setLength(binIndex.length() - 1);
        Files.writeString(st.resolve(Checkpoints.SAFETENSORS_INDEX), stIndex + "}}");
        Files.writeString(bin.resolve(Checkpoints.TORCH_BIN_INDEX), binIndex + "}}");
        assertSameWeights(st);
        assertSameWeights(bin);
        assertEquals(3, Checkpoints.weightFiles(st).size());
        assertSameTranslations(reference.subList(0, 20), translate(ModelBundle.load(bin), beam4).subList(0, 20), "sharded .bin");
    }

    /**
     * What transformers' converter makes of the Marian-native form: max_position_embeddings =
     * d_model (256 here), no stored position table (static sinusoids, float32), and a zero
     * final_logits_bias entry for the <pad> id it appends (the sample model's trained one is
     * -0.04; its <pad> embedding row is zero already). Otherwise the same weights.
     */
    static Path convertedHfForm() throws IOException {
        Path d = withSmallFiles("hf-as-converted");
        String cfg = Files.readString(d.resolve("config.json")).replace("\"max_position_embeddings\": 512",
                "\"max_position_embeddings\": 256");
        assertTrue(cfg.contains("\"max_position_embeddings\": 256"));
        Files.writeString(d.resolve("config.json"), cfg);
        SafetensorsWriter w = new SafetensorsWriter();
        for (String n : tensors.keySet()) {
            if (n.equals(TensorNames.FINAL_LOGITS_BIAS)) {
                float[] b = tensors.get(n).clone();
                b[b.length - 1] = 0f;
                w.put(n, "F16", shapes.get(n), b);
            } else if (!n.contains("embed_positions")) {
                w.put(n, "F16", shapes.get(n), tensors.get(n));
            }
        }
        w.write(d.resolve("model.safetensors"));
        return d;
    }

    @Test
    void marianNativeReleaseDirectoryAndZipDecodeAsTheConvertedHfForm() throws IOException {
        Path release = tmp.resolve("native");
        MarianNativeWriter.writeRelease(TestPaths.sampleModel(), release, "<f4", Map.of());
        Path zipRelease = tmp.resolve("native-f16");
        MarianNativeWriter.writeRelease(TestPaths.sampleModel(), zipRelease, "<f2", Map.of());
        Path zip = tmp.resolve("opus-2026-12-01.zip");
        MarianNativeWriter.zip(zipRelease, zip);

        ModelBundle hf = ModelBundle.load(convertedHfForm());
        long t0 = System.nanoTime();
        ModelBundle dir = ModelBundle.load(release);
        long t1 = System.nanoTime();
        ModelBundle fromZip = ModelBundle.load(zip);
        long t2 = System.nanoTime();
        System.out.printf("Marian-native release: directory (%d bytes .npz, f4) loaded in %d ms, .zip (%d bytes, f2) in %d ms%n",
                Files.size(release.resolve(MarianNativeWriter.NPZ)), (t1 - t0) / 1_000_000, Files.size(zip), (t2 - t1) / 1_000_000);
        assertEquals(hf.config(), dir.config());
        assertEquals(hf.config(), fromZip.config());
        assertEquals(4, dir.generation().numBeams());
        assertArrayEquals(hf.generation().badTokenIds(), dir.generation().badTokenIds());
        for (ModelBundle b : List.of(dir, fromZip)) {
            // positions: built by the engine (lazily) or stored; the same table either way
            int rows = 64 * hf.config().dModel();
            assertArrayEquals(java.util.Arrays.copyOf(hf.weights().positions(TensorNames.ENCODER_POSITIONS).upTo(64), rows),
                    java.util.Arrays.copyOf(b.weights().positions(TensorNames.ENCODER_POSITIONS).upTo(64), rows));
            for (String n : List.of(TensorNames.ENCODER_EMBED, TensorNames.LM_HEAD, TensorNames.FINAL_LOGITS_BIAS,
                    "model.decoder.layers.2.encoder_attn.k_proj.weight",
                    "model.encoder.layers.0.fc1.weight", "model.encoder.layers.0.fc1.bias",
                    "model.decoder.layers.1.final_layer_norm.weight")) {
                assertArrayEquals(hf.weights().get(n), b.weights().get(n), n);
            }
        }
        DecodeOptions opt = new DecodeOptions(4, 512, 1.0, 4);
        List<Translation> want = translate(hf, opt);
        assertSameTranslations(want, translate(dir, opt), "Marian-native directory");
        assertSameTranslations(want, translate(fromZip, opt), "Marian-native zip");
        int differ = 0;
        double maxScore = 0;
        for (int i = 0; i < want.size(); i++) {
            differ += want.get(i).text().equals(reference.get(i).text()) ? 0 : 1;
            maxScore = Math.max(maxScore, Math.abs(want.get(i).best().score() - reference.get(i).best().score()));
        }
        System.out.printf("Marian-native form vs the committed safetensors form (F16 position table, 512 positions,"
                + " pad bias -0.04): %d/%d beam-4 outputs differ, max |score difference| %.2e%n", differ, want.size(), maxScore);
    }

    @Test
    void hubIdResolvesInAFakeCacheAndDecodesTheSame() throws IOException {
        Path cache = tmp.resolve("hf-home/hub");
        Path repo = cache.resolve("models--Helsinki-NLP--opus-mt-en-de");
        String hash = "0123456789abcdef0123456789abcdef01234567";
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(hash));
        Files.createDirectories(repo.resolve("blobs"));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), hash);
        List<String> files = new ArrayList<>(SMALL_FILES);
        files.add("model.safetensors");
        int i = 0;
        for (String f : files) {
            Path blob = repo.resolve("blobs").resolve("blob" + (i++));
            Files.copy(TestPaths.sampleModel().resolve(f), blob);
            Files.createSymbolicLink(snap.resolve(f), Path.of("../../blobs").resolve(blob.getFileName()));
        }
        Path got = HubCache.resolve("Helsinki-NLP/opus-mt-en-de", k -> k.equals("HF_HOME") ? tmp.resolve("hf-home").toString() : null,
                null);
        assertEquals(snap, got);
        assertSameWeights(got);
        assertSameTranslations(reference.subList(0, 10), translate(ModelBundle.load(got), beam4).subList(0, 10), "hub cache");
    }
}
