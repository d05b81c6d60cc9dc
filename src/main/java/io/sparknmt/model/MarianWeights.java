package io.sparknmt.model;

import static io.sparknmt.model.TensorNames.*;

import io.sparknmt.model.checkpoint.Checkpoints;
import io.sparknmt.model.checkpoint.TensorSource;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * All float32 tensors of a Marian checkpoint, keyed by their checkpoint names, after tied
 * weights are resolved and every shape is checked against the config. This is what the Spark
 * job broadcasts: plain arrays, no kernel layout, so it serialises compactly; each executor
 * builds its {@link MarianModel} (packed weights) from it once.
 *
 * <p>Canonical entries: {@link TensorNames#ENCODER_EMBED}, {@link TensorNames#DECODER_EMBED},
 * {@link TensorNames#LM_HEAD} (the same array when tied), {@link TensorNames#FINAL_LOGITS_BIAS}
 * as {@code [V]}, both position tables (the stored ones when present, checked against the
 * sinusoid; recomputed otherwise), and every layer tensor under its own name.
 */
public final class MarianWeights implements Serializable {

    private final MarianConfig config;
    private final HashMap<String, float[]> tensors;

    public MarianWeights(MarianConfig config, Map<String, float[]> tensors) {
        this.config = config;
        this.tensors = new HashMap<>(tensors);
    }

    public MarianConfig config() {
        return config;
    }

    /**
     * The positional table {@code name} (ENCODER_POSITIONS or DECODER_POSITIONS): the checkpoint's
     * own when it stores one, else sinusoids built lazily.
     */
    public PositionTable positions(String name) {
        float[] t = tensors.get(name);
        return t != null ? PositionTable.stored(t, config.maxPositions(), config.dModel())
                : PositionTable.sinusoidal(config.maxPositions(), config.dModel());
    }

    public float[] get(String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException("missing tensor " + name);
        }
        return t;
    }

    /** Number of distinct float values held (tied arrays counted once). */
    public long parameterCount() {
        java.util.IdentityHashMap<float[], Boolean> seen = new java.util.IdentityHashMap<>();
        long n = 0;
        for (float[] t : tensors.values()) {
            if (seen.put(t, Boolean.TRUE) == null) {
                n += t.length;
            }
        }
        return n;
    }

    /**
     * Reads the weights of a model directory (model.safetensors, pytorch_model.bin, their sharded
     * forms or a Marian-native .npz: {@link Checkpoints#open}), checking them against the config.
     */
    public static MarianWeights load(Path modelDir, MarianConfig config) {
        return load(ModelFiles.of(modelDir), config);
    }

    /** As {@link #load(Path, MarianConfig)}, from the directory {@code files} names. */
    public static MarianWeights load(ModelFiles files, MarianConfig config) {
        Path modelDir = files.dir();
        try (TensorSource st = Checkpoints.open(modelDir)) {
            return load(st, config);
        }
    }

    public static MarianWeights load(TensorSource source, MarianConfig c) {
        TensorSource st = withModelPrefix(source);
        Map<String, float[]> t = new HashMap<>();
        int d = c.dModel();
        // Embeddings: any one of the tied names may be the stored one.
        float[] encEmbed;
        float[] decEmbed;
        if (c.shareEmbeddings()) {
            List<String> names = c.tieWordEmbeddings()
                    ? List.of(SHARED, ENCODER_EMBED, DECODER_EMBED, LM_HEAD)
                    : List.of(SHARED, ENCODER_EMBED, DECODER_EMBED);
            String stored = firstPresent(st, names);
            encEmbed = st.read(stored, c.vocabSize(), d);
            decEmbed = encEmbed;
        } else {
            encEmbed = st.read(firstPresent(st, List.of(ENCODER_EMBED)), c.vocabSize(), d);
            List<String> decNames = c.tieWordEmbeddings() ? List.of(DECODER_EMBED, LM_HEAD) : List.of(DECODER_EMBED);
            decEmbed = st.read(firstPresent(st, decNames), c.decoderVocabSize(), d);
        }
        float[] lmHead = c.tieWordEmbeddings() ? decEmbed : st.read(LM_HEAD, c.decoderVocabSize(), d);
        t.put(ENCODER_EMBED, encEmbed);
        t.put(DECODER_EMBED, decEmbed);
        t.put(LM_HEAD, lmHead);
        String biasName = st.has(FINAL_LOGITS_BIAS) ? FINAL_LOGITS_BIAS
                : st.has("model." + FINAL_LOGITS_BIAS) ? "model." + FINAL_LOGITS_BIAS : null;
        t.put(FINAL_LOGITS_BIAS, biasName != null
                ? st.read(biasName, 1, c.decoderVocabSize())
                : new float[c.decoderVocabSize()]);

        // Positions: a stored table is checked against the sinusoids and kept; otherwise nothing is
        // stored here and the model computes rows lazily (PositionTable), as far as inputs reach.
        for (String name : List.of(ENCODER_POSITIONS, DECODER_POSITIONS)) {
            if (st.has(name)) {
                if ((long) c.maxPositions() * d > Integer.MAX_VALUE - 8) {
                    throw new ModelFormatException(st.file() + ": tensor " + name + " of " + c.maxPositions()
                            + " x d_model " + d + " does not fit one array");
                }
                t.put(name, checkedPositions(st, name, c));
            }
        }

        for (int n = 0; n < c.encoderLayers(); n++) {
            String p = layer(false, n);
            readAttention(st, t, p + SELF_ATTN, d);
            readNorm(st, t, p + SELF_ATTN_LN, d);
            readFeedForward(st, t, p, d, c.encoderFfn());
        }
        for (int n = 0; n < c.decoderLayers(); n++) {
            String p = layer(true, n);
            readAttention(st, t, p + SELF_ATTN, d);
            readNorm(st, t, p + SELF_ATTN_LN, d);
            readAttention(st, t, p + CROSS_ATTN, d);
            readNorm(st, t, p + CROSS_ATTN_LN, d);
            readFeedForward(st, t, p, d, c.decoderFfn());
        }
        return new MarianWeights(c, t);
    }

    /**
     * A checkpoint saved from the base {@code MarianModel} names its tensors {@code shared.weight},
     * {@code encoder.layers.0...}: no name starts with {@code model}. transformers loads such a
     * state dict into the base model of {@code MarianMTModel}, i.e. as if every name had the
     * {@code model.} prefix; so does this view (the reference, tools/reference/marian_ref.py, maps
     * the {@code encoder.}, {@code decoder.} and {@code shared.} names the same way). Other
     * checkpoints are returned as they are.
     */
    static TensorSource withModelPrefix(TensorSource st) {
        Set<String> names = st.names();
        if (names.stream().anyMatch(n -> n.startsWith("model"))) {
            return st;
        }
        Map<String, String> stored = new HashMap<>();
        for (String n : names) {
            boolean base = n.startsWith("encoder.") || n.startsWith("decoder.") || n.startsWith("shared.");
            stored.put(base ? "model." + n : n, n);
        }
        Set<String> mapped = Set.copyOf(stored.keySet());
        return new TensorSource() {
            @Override
            public Path file() {
                return st.file();
            }

            @Override
            public Set<String> names() {
                return mapped;
            }

            @Override
            public float[] read(String name, int... expectedShape) {
                return st.read(stored.getOrDefault(name, name), expectedShape);
            }

            @Override
            public void close() {
                st.close();
            }
        };
    }

    private static String firstPresent(TensorSource st, List<String> names) {
        for (String n : names) {
            if (st.has(n)) {
                return n;
            }
        }
        throw new ModelFormatException(st.file() + ": missing tensor " + names.get(0)
                + (names.size() > 1 ? " (or its tied aliases " + names.subList(1, names.size()) + ")" : ""));
    }

    private static float[] checkedPositions(TensorSource st, String name, MarianConfig c) {
        float[] stored = st.read(name, c.maxPositions(), c.dModel());
        float[] table = new float[c.dModel()];
        for (int i = 0; i < stored.length; i++) {
            if (i % c.dModel() == 0) {
                Positions.sinusoidalRow(i / c.dModel(), c.dModel(), table, 0);
            }
            // Stored tables may be F16: compare with a tolerance fitting that precision.
            if (!(Math.abs(stored[i] - table[i % c.dModel()]) <= 1e-2f)) { // F16/BF16 storage rounds; a wrong layout is off by O(1)
                throw new ModelFormatException(st.file() + ": tensor " + name + " differs from the sinusoidal table at ["
                        + (i / c.dModel()) + ", " + (i % c.dModel()) + "]: " + stored[i] + " vs " + table[i % c.dModel()]
                        + " (spark-nmt only runs Marian's static sin|cos positions)");
            }
        }
        return stored; // as transformers does: the checkpoint's own (e.g. F16-rounded) table

    }

    private static void readAttention(TensorSource st, Map<String, float[]> t, String prefix, int d) {
        for (String proj : List.of(Q_PROJ, K_PROJ, V_PROJ, OUT_PROJ)) {
            readLinear(st, t, prefix + proj, d, d);
        }
    }

    private static void readFeedForward(TensorSource st, Map<String, float[]> t, String prefix, int d, int ffn) {
        readLinear(st, t, prefix + FC1, ffn, d);
        readLinear(st, t, prefix + FC2, d, ffn);
        readNorm(st, t, prefix + FINAL_LN, d);
    }

    private static void readLinear(TensorSource st, Map<String, float[]> t, String prefix, int out, int in) {
        t.put(prefix + WEIGHT, st.read(prefix + WEIGHT, out, in));
        t.put(prefix + BIAS, st.read(prefix + BIAS, out));
    }

    private static void readNorm(TensorSource st, Map<String, float[]> t, String prefix, int d) {
        t.put(prefix + WEIGHT, st.read(prefix + WEIGHT, d));
        t.put(prefix + BIAS, st.read(prefix + BIAS, d));
    }
}
