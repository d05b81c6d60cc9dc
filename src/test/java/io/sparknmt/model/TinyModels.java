package io.sparknmt.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Test helper: random Marian checkpoints of any small shape, written in the Hugging Face layout. */
public final class TinyModels {
    private TinyModels() {
    }

    /** Shape and storage choices of a tiny model. */
    public record Spec(int d, int heads, int ffn, int encLayers, int decLayers, int vocab, int maxPos,
                       String dtype, String embedName, boolean withPositions, boolean tied, String activation) {
        public static Spec small() {
            return new Spec(16, 2, 32, 2, 2, 40, 64, "F32", TensorNames.SHARED, true, true, "swish");
        }

        public Spec withDtype(String t) {
            return new Spec(d, heads, ffn, encLayers, decLayers, vocab, maxPos, t, embedName, withPositions, tied, activation);
        }

        public Spec withEmbedName(String n) {
            return new Spec(d, heads, ffn, encLayers, decLayers, vocab, maxPos, dtype, n, withPositions, tied, activation);
        }

        public Spec withPositions(boolean p) {
            return new Spec(d, heads, ffn, encLayers, decLayers, vocab, maxPos, dtype, embedName, p, tied, activation);
        }

        public Spec untied() {
            return new Spec(d, heads, ffn, encLayers, decLayers, vocab, maxPos, dtype, embedName, withPositions, false, activation);
        }

        public Spec withActivation(String a) {
            return new Spec(d, heads, ffn, encLayers, decLayers, vocab, maxPos, dtype, embedName, withPositions, tied, a);
        }
    }

    public static String configJson(Spec s) {
        return "{\"model_type\":\"marian\",\"d_model\":" + s.d() + ",\"encoder_layers\":" + s.encLayers()
                + ",\"decoder_layers\":" + s.decLayers() + ",\"encoder_attention_heads\":" + s.heads()
                + ",\"decoder_attention_heads\":" + s.heads() + ",\"encoder_ffn_dim\":" + s.ffn()
                + ",\"decoder_ffn_dim\":" + s.ffn() + ",\"activation_function\":\"" + s.activation()
                + "\",\"scale_embedding\":true,\"share_encoder_decoder_embeddings\":true,\"tie_word_embeddings\":"
                + s.tied() + ",\"vocab_size\":" + s.vocab() + ",\"decoder_vocab_size\":" + s.vocab()
                + ",\"max_position_embeddings\":" + s.maxPos() + ",\"pad_token_id\":" + (s.vocab() - 1)
                + ",\"eos_token_id\":0,\"decoder_start_token_id\":" + (s.vocab() - 1)
                + ",\"forced_eos_token_id\":0,\"num_beams\":3,\"max_length\":20}";
    }

    /** Writes config.json, generation_config.json and model.safetensors into {@code dir}. */
    public static Path write(Path dir, Spec s, long seed) throws IOException {
        return write(dir, s, seed, -1);
    }

    /**
     * As {@link #write(Path, Spec, long)}, with {@code final_logits_bias[favoured]} set to 50 (when
     * {@code favoured >= 0}), so that every decoding step prefers that token by far unless it is
     * masked.
     */
    public static Path write(Path dir, Spec s, long seed, int favoured) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson(s));
        Files.writeString(dir.resolve("generation_config.json"), "{\"num_beams\":3,\"max_length\":20,\"bad_words_ids\":[["
                + (s.vocab() - 1) + "]],\"forced_eos_token_id\":0,\"decoder_start_token_id\":" + (s.vocab() - 1) + "}");
        Random r = new Random(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        String t = s.dtype();
        int d = s.d();
        w.put(s.embedName(), t, new int[]{s.vocab(), d}, rand(r, s.vocab() * d, 0.5f));
        if (!s.tied()) {
            w.put(TensorNames.LM_HEAD, t, new int[]{s.vocab(), d}, rand(r, s.vocab() * d, 0.5f));
        }
        float[] bias = rand(r, s.vocab(), 0.1f);
        if (favoured >= 0) {
            bias[favoured] = 50f;
        }
        w.put(TensorNames.FINAL_LOGITS_BIAS, t, new int[]{1, s.vocab()}, bias);
        if (s.withPositions()) {
            float[] pe = Positions.sinusoidal(s.maxPos(), d);
            w.put(TensorNames.ENCODER_POSITIONS, t, new int[]{s.maxPos(), d}, pe);
            w.put(TensorNames.DECODER_POSITIONS, t, new int[]{s.maxPos(), d}, pe);
        }
        for (int n = 0; n < s.encLayers(); n++) {
            layer(w, r, TensorNames.layer(false, n), s, false);
        }
        for (int n = 0; n < s.decLayers(); n++) {
            layer(w, r, TensorNames.layer(true, n), s, true);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static void layer(SafetensorsWriter w, Random r, String p, Spec s, boolean decoder) {
        attention(w, r, p + TensorNames.SELF_ATTN, s);
        norm(w, r, p + TensorNames.SELF_ATTN_LN, s);
        if (decoder) {
            attention(w, r, p + TensorNames.CROSS_ATTN, s);
            norm(w, r, p + TensorNames.CROSS_ATTN_LN, s);
        }
        linear(w, r, p + TensorNames.FC1, s.ffn(), s.d(), s.dtype());
        linear(w, r, p + TensorNames.FC2, s.d(), s.ffn(), s.dtype());
        norm(w, r, p + TensorNames.FINAL_LN, s);
    }

    private static void attention(SafetensorsWriter w, Random r, String p, Spec s) {
        for (String proj : new String[]{TensorNames.Q_PROJ, TensorNames.K_PROJ, TensorNames.V_PROJ, TensorNames.OUT_PROJ}) {
            linear(w, r, p + proj, s.d(), s.d(), s.dtype());
        }
    }

    private static void linear(SafetensorsWriter w, Random r, String p, int out, int in, String t) {
        w.put(p + TensorNames.WEIGHT, t, new int[]{out, in}, rand(r, out * in, (float) (1 / Math.sqrt(in))));
        w.put(p + TensorNames.BIAS, t, new int[]{out}, rand(r, out, 0.1f));
    }

    private static void norm(SafetensorsWriter w, Random r, String p, Spec s) {
        float[] g = rand(r, s.d(), 0.1f);
        for (int i = 0; i < g.length; i++) {
            g[i] += 1f;
        }
        w.put(p + TensorNames.WEIGHT, s.dtype(), new int[]{s.d()}, g);
        w.put(p + TensorNames.BIAS, s.dtype(), new int[]{s.d()}, rand(r, s.d(), 0.1f));
    }

    /** Values in [-scale, scale], rounded to bfloat16 so every dtype stores them exactly enough. */
    static float[] rand(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float f = (r.nextFloat() * 2 - 1) * scale;
            v[i] = Float.intBitsToFloat(Float.floatToIntBits(f) & 0xffff0000);
        }
        return v;
    }
}
