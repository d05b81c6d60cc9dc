package io.sparknmt.model;

import io.sparknmt.kernel.AttentionKernel;
import io.sparknmt.kernel.Kernels;

/**
 * Multi-head attention with Marian's projections: {@code q = (x Wq^T + bq) * headDim^-0.5},
 * keys and values projected likewise, attention per head, heads concatenated, then
 * {@code out_proj}. Heads live side by side in a row: head {@code h} of a row is columns
 * {@code [h * headDim, (h + 1) * headDim)}. Immutable.
 */
public final class MultiHeadAttention {
    private final Kernels kernels;
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear out;
    private final int heads;
    private final int headDim;
    private final float scaling;

    public MultiHeadAttention(Kernels kernels, Linear q, Linear k, Linear v, Linear out, int heads) {
        this.kernels = kernels;
        this.q = q;
        this.k = k;
        this.v = v;
        this.out = out;
        this.heads = heads;
        this.headDim = q.out() / heads;
        this.scaling = (float) Math.pow(headDim, -0.5);
    }

    public int dModel() {
        return q.out();
    }

    /** Scaled queries: {@code qOut[rows, d] = (x Wq^T + bq) * headDim^-0.5}. */
    public void projectQuery(float[] x, int rows, float[] qOut) {
        q.forward(x, 0, rows, qOut, 0);
        kernels.scale(qOut, 0, rows * dModel(), scaling);
    }

    /** Keys and values of {@code rows} rows of {@code x}, written at row offsets kOff/vOff (in floats). */
    public void projectKeyValue(float[] x, int xOff, int rows, float[] kOut, int kOff, float[] vOut, int vOff) {
        k.forward(x, xOff, rows, kOut, kOff);
        v.forward(x, xOff, rows, vOut, vOff);
    }

    /**
     * Encoder self-attention over a padded batch.
     *
     * @param x       [batch * srcLen, d]
     * @param lengths real length of each sentence (keys past it are padding)
     * @param s       scratch, see {@link Scratch}
     * @param result  [batch * srcLen, d]
     */
    public void forwardEncoder(float[] x, int batch, int srcLen, int[] lengths, Scratch s, float[] result) {
        int rows = batch * srcLen;
        int d = dModel();
        projectQuery(x, rows, s.q);
        projectKeyValue(x, 0, rows, s.k, 0, s.v, 0);
        for (int b = 0; b < batch; b++) {
            int base = b * srcLen * d;
            for (int i = 0; i < srcLen; i++) {
                int row = base + i * d;
                for (int h = 0; h < heads; h++) {
                    int ho = h * headDim;
                    AttentionKernel.attendRow(kernels, s.q, row + ho, s.k, s.v, base + ho, d, lengths[b], headDim,
                            s.scores, s.context, row + ho);
                }
            }
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /**
     * One decoding step of causal self-attention: the new keys/values are written into the
     * cache at position {@code t}, and each row attends to positions {@code 0..t} of its own row.
     *
     * @param x       [rows, d] the step's input
     * @param cacheK  [rowCapacity, timeCapacity, d]
     * @param t       position of this step
     * @param result  [rows, d]
     */
    public void forwardSelfStep(float[] x, int rows, float[] cacheK, float[] cacheV, int timeCapacity, int t,
                                Scratch s, float[] result) {
        int d = dModel();
        projectQuery(x, rows, s.q);
        projectKeyValue(x, 0, rows, s.k, 0, s.v, 0);
        for (int r = 0; r < rows; r++) {
            int dst = (r * timeCapacity + t) * d;
            System.arraycopy(s.k, r * d, cacheK, dst, d);
            System.arraycopy(s.v, r * d, cacheV, dst, d);
        }
        for (int r = 0; r < rows; r++) {
            int base = r * timeCapacity * d;
            for (int h = 0; h < heads; h++) {
                int ho = h * headDim;
                AttentionKernel.attendRow(kernels, s.q, r * d + ho, cacheK, cacheV, base + ho, d, t + 1, headDim,
                        s.scores, s.context, r * d + ho);
            }
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /**
     * One decoding step of cross-attention over the encoder output's keys/values.
     *
     * @param x          [rows, d]
     * @param encK       [batch, srcLen, d] keys of the encoder output, computed once per batch
     * @param sentenceOf sentence index of each row (beams share their sentence's keys)
     * @param lengths    source length of each sentence
     */
    public void forwardCrossStep(float[] x, int rows, float[] encK, float[] encV, int srcLen, int[] sentenceOf,
                                 int[] lengths, Scratch s, float[] result) {
        int d = dModel();
        projectQuery(x, rows, s.q);
        for (int r = 0; r < rows; r++) {
            int b = sentenceOf[r];
            int base = b * srcLen * d;
            for (int h = 0; h < heads; h++) {
                int ho = h * headDim;
                AttentionKernel.attendRow(kernels, s.q, r * d + ho, encK, encV, base + ho, d, lengths[b], headDim,
                        s.scores, s.context, r * d + ho);
            }
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /** Per-call working memory, owned by the caller and reused across layers and steps. */
    public static final class Scratch {
        final float[] q;       // [rows, d]
        final float[] k;       // [rows, d]
        final float[] v;       // [rows, d]
        final float[] context; // [rows, d]
        final float[] scores;  // [AttentionKernel.BLOCK], whatever the number of keys

        public Scratch(int rows, int d) {
            this.q = new float[rows * d];
            this.k = new float[rows * d];
            this.v = new float[rows * d];
            this.context = new float[rows * d];
            this.scores = new float[AttentionKernel.BLOCK];
        }
    }
}
