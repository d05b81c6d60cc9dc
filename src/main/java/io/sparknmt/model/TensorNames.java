package io.sparknmt.model;

/**
 * Every tensor name of the Hugging Face Marian state dict, verbatim, in one place. Layers are
 * numbered as the checkpoint numbers them.
 */
public final class TensorNames {
    private TensorNames() {
    }

    public static final String SHARED = "model.shared.weight";
    public static final String ENCODER_EMBED = "model.encoder.embed_tokens.weight";
    public static final String DECODER_EMBED = "model.decoder.embed_tokens.weight";
    public static final String LM_HEAD = "lm_head.weight";
    public static final String FINAL_LOGITS_BIAS = "final_logits_bias";
    public static final String ENCODER_POSITIONS = "model.encoder.embed_positions.weight";
    public static final String DECODER_POSITIONS = "model.decoder.embed_positions.weight";

    /** {@code model.encoder.layers.N} or {@code model.decoder.layers.N}. */
    public static String layer(boolean decoder, int n) {
        return (decoder ? "model.decoder.layers." : "model.encoder.layers.") + n;
    }

    // Suffixes under a layer prefix.
    public static final String SELF_ATTN = ".self_attn";
    public static final String CROSS_ATTN = ".encoder_attn";
    public static final String Q_PROJ = ".q_proj";
    public static final String K_PROJ = ".k_proj";
    public static final String V_PROJ = ".v_proj";
    public static final String OUT_PROJ = ".out_proj";
    public static final String SELF_ATTN_LN = ".self_attn_layer_norm";
    public static final String CROSS_ATTN_LN = ".encoder_attn_layer_norm";
    public static final String FC1 = ".fc1";
    public static final String FC2 = ".fc2";
    public static final String FINAL_LN = ".final_layer_norm";
    public static final String WEIGHT = ".weight";
    public static final String BIAS = ".bias";
}
