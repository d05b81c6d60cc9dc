package io.sparknmt.model;

/**
 * Post-LN decoder block: causal self-attention, cross-attention over the encoder output, and the
 * feed-forward, each followed by Add &amp; Norm. Immutable; all state is in {@link DecoderState}.
 */
public final class DecoderLayer {
    private final MultiHeadAttention selfAttn;
    private final LayerNorm selfAttnNorm;
    private final MultiHeadAttention crossAttn;
    private final LayerNorm crossAttnNorm;
    private final FeedForward ffn;
    private final LayerNorm finalNorm;

    public DecoderLayer(MultiHeadAttention selfAttn, LayerNorm selfAttnNorm, MultiHeadAttention crossAttn,
                        LayerNorm crossAttnNorm, FeedForward ffn, LayerNorm finalNorm) {
        this.selfAttn = selfAttn;
        this.selfAttnNorm = selfAttnNorm;
        this.crossAttn = crossAttn;
        this.crossAttnNorm = crossAttnNorm;
        this.ffn = ffn;
        this.finalNorm = finalNorm;
    }

    MultiHeadAttention crossAttention() {
        return crossAttn;
    }

    /** One step for {@code st.rows()} rows; {@code x} ([rows, d]) is transformed in place. */
    void stepInPlace(float[] x, DecoderState st, int layer, int t) {
        int rows = st.rows();
        DecoderState.LayerCache cache = st.layer(layer);
        selfAttn.forwardSelfStep(x, rows, cache, t, st.scratch, st.tmp);
        selfAttnNorm.addAndNormInPlace(x, st.tmp, rows);
        crossAttn.forwardCrossStep(x, rows, cache, st.scratch, st.tmp);
        crossAttnNorm.addAndNormInPlace(x, st.tmp, rows);
        ffn.forward(x, rows, st.hidden, st.tmp);
        finalNorm.addAndNormInPlace(x, st.tmp, rows);
    }
}
