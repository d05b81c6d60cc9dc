package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MarianWeightsTest {
    @TempDir
    Path dir;

    private MarianWeights load(TinyModels.Spec spec) throws IOException {
        Path m = TinyModels.write(dir.resolve("m"), spec, 7);
        return MarianWeights.load(m, MarianConfig.read(m.resolve("config.json")));
    }

    @ParameterizedTest
    @ValueSource(strings = {TensorNames.SHARED, TensorNames.ENCODER_EMBED, TensorNames.DECODER_EMBED, TensorNames.LM_HEAD})
    void tiedEmbeddingsResolveFromAnyStoredName(String name) throws IOException {
        MarianWeights w = load(TinyModels.Spec.small().withEmbedName(name));
        assertSame(w.get(TensorNames.ENCODER_EMBED), w.get(TensorNames.DECODER_EMBED));
        assertSame(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD));
    }

    @Test
    void separateLmHeadWhenUntied() throws IOException {
        MarianWeights w = load(TinyModels.Spec.small().untied());
        assertNotSame(w.get(TensorNames.DECODER_EMBED), w.get(TensorNames.LM_HEAD));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void positionsPresentOrAbsentGiveTheSameTable(boolean present) throws IOException {
        MarianWeights w = load(TinyModels.Spec.small().withPositions(present));
        float[] table = w.positions(TensorNames.ENCODER_POSITIONS).upTo(64);
        assertArrayEquals(Positions.sinusoidal(64, 16), java.util.Arrays.copyOf(table, 64 * 16), 1e-6f);
        assertEquals(present, w.positions(TensorNames.DECODER_POSITIONS).isStored());
    }

    /** Sinusoids are built as far as inputs reach, never for every max_position_embeddings row. */
    @Test
    void sinusoidsAreBuiltLazilyAndExactly() throws Exception {
        PositionTable t = PositionTable.sinusoidal(MarianConfig.MAX_POSITIONS, 1024);
        assertEquals(0, t.rowsBuilt(), "nothing before the first input");
        float[] first = t.upTo(10);
        assertTrue(t.rowsBuilt() >= 10 && t.rowsBuilt() <= 64, "rows built " + t.rowsBuilt());
        float[] full = Positions.sinusoidal(300, 1024);
        float[] grown = t.upTo(300);
        assertTrue(t.rowsBuilt() >= 300 && t.rowsBuilt() < 1024, "rows built " + t.rowsBuilt());
        assertArrayEquals(full, java.util.Arrays.copyOf(grown, 300 * 1024), 0f);
        assertArrayEquals(java.util.Arrays.copyOf(first, 10 * 1024), java.util.Arrays.copyOf(grown, 10 * 1024), 0f);
        // Many threads growing one table all see complete rows.
        PositionTable shared = PositionTable.sinusoidal(4096, 64);
        float[] expect = Positions.sinusoidal(4096, 64);
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        for (int k = 0; k < 8; k++) {
            int seed = k;
            Thread th = new Thread(() -> {
                java.util.Random r = new java.util.Random(seed);
                try {
                    for (int i = 0; i < 200; i++) {
                        int n = 1 + r.nextInt(4096);
                        float[] a = shared.upTo(n);
                        int row = r.nextInt(n);
                        for (int j = 0; j < 64; j++) {
                            if (a[row * 64 + j] != expect[row * 64 + j]) {
                                throw new AssertionError("row " + row + " col " + j);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertEquals(null, failed.get());
        IllegalArgumentException past = assertThrows(IllegalArgumentException.class, () -> shared.upTo(4097));
        assertTrue(past.getMessage().contains("max_position_embeddings 4096"), past.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16"})
    void everyDtypeLoads(String dtype) throws IOException {
        MarianWeights w = load(TinyModels.Spec.small().withDtype(dtype));
        assertTrue(w.parameterCount() > 0);
    }

    @Test
    void positionsMustBeSinCosHalves() throws IOException {
        TinyModels.Spec s = TinyModels.Spec.small();
        Path m = TinyModels.write(dir.resolve("bad"), s, 1);
        // Rewrite with an interleaved (paper-style) table: a real porting bug, refused by name.
        float[] inter = new float[64 * 16];
        for (int p = 0; p < 64; p++) {
            for (int j = 0; j < 16; j++) {
                double a = p / Math.pow(10000, 2.0 * (j / 2) / 16);
                inter[p * 16 + j] = (float) (j % 2 == 0 ? Math.sin(a) : Math.cos(a));
            }
        }
        try (Safetensors st = Safetensors.open(m.resolve("model.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (Safetensors.Entry e : st.entries().values()) {
                float[] v = e.name().equals(TensorNames.ENCODER_POSITIONS) ? inter : st.read(e.name(), e.shape());
                w.put(e.name(), "F32", e.shape(), v);
            }
            Path out = dir.resolve("bad2");
            Files.createDirectories(out);
            Files.copy(m.resolve("config.json"), out.resolve("config.json"));
            w.write(out.resolve("model.safetensors"));
            ModelFormatException ex = assertThrows(ModelFormatException.class,
                    () -> MarianWeights.load(out, MarianConfig.read(out.resolve("config.json"))));
            assertTrue(ex.getMessage().contains(TensorNames.ENCODER_POSITIONS), ex.getMessage());
        }
    }

    @Test
    void wrongShapeForTheConfigNamesTensorAndShapes() throws IOException {
        Path m = TinyModels.write(dir.resolve("m"), TinyModels.Spec.small(), 3);
        // Claim a bigger FFN than the file holds.
        Files.writeString(m.resolve("config.json"), Files.readString(m.resolve("config.json"))
                .replace("\"encoder_ffn_dim\":32", "\"encoder_ffn_dim\":48"));
        ModelFormatException ex = assertThrows(ModelFormatException.class,
                () -> MarianWeights.load(m, MarianConfig.read(m.resolve("config.json"))));
        assertTrue(ex.getMessage().contains("model.encoder.layers.0.fc1.weight has shape [32, 16], expected [48, 16]"),
                ex.getMessage());
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path m = TinyModels.write(dir.resolve("m"), TinyModels.Spec.small(), 3);
        Files.writeString(m.resolve("config.json"), Files.readString(m.resolve("config.json"))
                .replace("\"decoder_layers\":2", "\"decoder_layers\":3"));
        ModelFormatException ex = assertThrows(ModelFormatException.class,
                () -> MarianWeights.load(m, MarianConfig.read(m.resolve("config.json"))));
        assertTrue(ex.getMessage().contains("missing tensor model.decoder.layers.2."), ex.getMessage());
    }

    @Test
    void configWithoutRequiredFieldOrBadActivation() throws IOException {
        Path c = dir.resolve("config.json");
        Files.writeString(c, TinyModels.configJson(TinyModels.Spec.small()).replace("\"d_model\":16,", ""));
        assertTrue(assertThrows(ModelFormatException.class, () -> MarianConfig.read(c)).getMessage()
                .contains("\"d_model\" is missing"));
        Files.writeString(c, TinyModels.configJson(TinyModels.Spec.small().withActivation("tanhshrink")));
        assertTrue(assertThrows(ModelFormatException.class, () -> MarianConfig.read(c)).getMessage()
                .contains("tanhshrink"));
    }

    @Test
    void separateVocabsNeedThePadIdInBothVocabularies() throws IOException {
        // a target vocabulary larger than the source one, pad = last target id: the encoder could
        // not embed its padding (transformers refuses it too, as padding_idx of the encoder embedding)
        Path c = dir.resolve("config-sep.json");
        String sep = TinyModels.configJson(TinyModels.Spec.small())
                .replace("\"share_encoder_decoder_embeddings\":true", "\"share_encoder_decoder_embeddings\":false")
                .replace("\"vocab_size\":40", "\"vocab_size\":30");
        Files.writeString(c, sep);
        String msg = assertThrows(ModelFormatException.class, () -> MarianConfig.read(c)).getMessage();
        assertTrue(msg.contains("pad_token_id 39") && msg.contains("source vocabulary"), msg);
        Files.writeString(c, sep.replace("\"pad_token_id\":39", "\"pad_token_id\":29")
                .replace("\"decoder_start_token_id\":39", "\"decoder_start_token_id\":29"));
        MarianConfig ok = MarianConfig.read(c);
        assertTrue(ok.vocabSize() == 30 && ok.decoderVocabSize() == 40 && ok.padId() == 29);
    }

    @Test
    void truncatedPickleCheckpointIsRefusedNamingTheFile() throws IOException {
        Path m = dir.resolve("pt");
        Files.createDirectories(m);
        Files.writeString(m.resolve("config.json"), TinyModels.configJson(TinyModels.Spec.small()));
        Files.write(m.resolve("pytorch_model.bin"), new byte[]{(byte) 0x80, 2});
        ModelFormatException ex = assertThrows(ModelFormatException.class,
                () -> MarianWeights.load(m, MarianConfig.read(m.resolve("config.json"))));
        assertTrue(ex.getMessage().contains("pytorch_model.bin") && ex.getMessage().contains("truncated"), ex.getMessage());
    }
}
