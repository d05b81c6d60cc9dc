package io.sparknmt.model;

/** Post-LN encoder block: {@code h = LN(x + SelfAttn(x)); out = LN(h + FFN(h))}. Immutable. */
public final class EncoderLayer {
    private final MultiHeadAttention selfAttn;
    private final LayerNorm selfAttnNorm;
    private final FeedForward ffn;
    private final LayerNorm finalNorm;

    public EncoderLayer(MultiHeadAttention selfAttn, LayerNorm selfAttnNorm, FeedForward ffn, LayerNorm finalNorm) {
        this.selfAttn = selfAttn;
        this.selfAttnNorm = selfAttnNorm;
        this.ffn = ffn;
        this.finalNorm = finalNorm;
    }

    /**
     * Transforms {@code x} ([batch * srcLen, d]) in place.
     *
     * @param tmp    scratch [batch * srcLen, d]
     * @param hidden scratch [batch * srcLen, ffn]
     */
    public void forwardInPlace(float[] x, int batch, int srcLen, int[] lengths, MultiHeadAttention.Scratch s,
                               float[] tmp, float[] hidden) {
        int rows = batch * srcLen;
        selfAttn.forwardEncoder(x, batch, srcLen, lengths, s, tmp);
        selfAttnNorm.addAndNormInPlace(x, tmp, rows);
        ffn.forward(x, rows, hidden, tmp);
        finalNorm.addAndNormInPlace(x, tmp, rows);
    }
}
