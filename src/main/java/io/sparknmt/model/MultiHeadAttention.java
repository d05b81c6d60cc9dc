package io.sparknmt.model;

import io.sparknmt.kernel.AttentionKernel;
import io.sparknmt.kernel.FloatArrays;
import io.sparknmt.kernel.Kernels;
import java.nio.FloatBuffer;

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
        this.scaling = (float) StrictMath.pow(headDim, -0.5);
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
     * Encoder self-attention over a padded batch: the queries of a sentence form one group that
     * streams the sentence's keys once per head.
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
            for (int h = 0; h < heads; h++) {
                int o = base + h * headDim;
                AttentionKernel.attend(kernels, s.q, o, d, srcLen, s.attention.heap.set(s.k, s.v, o, d), lengths[b],
                        headDim, s.attention, s.context, o, d);
            }
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /**
     * One decoding step of causal self-attention: the new keys/values are written into the
     * layer's off-heap cache at position {@code t}, and each row attends to positions
     * {@code 0..t} of its own row.
     *
     * @param x      [rows, d] the step's input
     * @param cache  this layer's view of the decoder state
     * @param result [rows, d]
     */
    void forwardSelfStep(float[] x, int rows, DecoderState.LayerCache cache, int t, Scratch s, float[] result) {
        int d = dModel();
        projectQuery(x, rows, s.q);
        projectKeyValue(x, 0, rows, s.k, 0, s.v, 0);
        FloatBuffer ck = cache.selfKeys();
        FloatBuffer cv = cache.selfValues();
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int dst = cache.selfOffset(r, h) + t * headDim;
                ck.put(dst, s.k, r * d + h * headDim, headDim);
                cv.put(dst, s.v, r * d + h * headDim, headDim);
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int o = r * d + h * headDim;
                AttentionKernel.attend(kernels, s.q, o, d, 1, s.attention.offHeap.set(ck, cv, cache.selfOffset(r, h)),
                        t + 1, headDim, s.attention, s.context, o, d);
            }
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /**
     * Keys and values of the encoder output for cross-attention, computed once per batch and
     * stored head-major off-heap: {@code [sentence][head][srcLen][headDim]}.
     */
    void projectCross(float[] encHidden, int batch, int srcLen, Scratch s, FloatBuffer k, FloatBuffer v) {
        int d = dModel();
        int rows = batch * srcLen;
        projectKeyValue(encHidden, 0, rows, s.k, 0, s.v, 0);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int dst = (b * heads + h) * srcLen * headDim;
                for (int i = 0; i < srcLen; i++) {
                    int src = (b * srcLen + i) * d + h * headDim;
                    k.put(dst + i * headDim, s.k, src, headDim);
                    v.put(dst + i * headDim, s.v, src, headDim);
                }
            }
        }
    }

    /**
     * One decoding step of cross-attention over the encoder output's keys/values. Consecutive
     * rows of the same sentence (its beams) form one group that streams the keys once per head.
     *
     * @param x      [rows, d]
     * @param cache  this layer's view of the decoder state
     * @param result [rows, d]
     */
    void forwardCrossStep(float[] x, int rows, DecoderState.LayerCache cache, Scratch s, float[] result) {
        int d = dModel();
        projectQuery(x, rows, s.q);
        FloatBuffer ek = cache.crossKeys();
        FloatBuffer ev = cache.crossValues();
        for (int r0 = 0; r0 < rows; ) {
            int b = cache.sentenceOf(r0);
            int r1 = r0 + 1;
            while (r1 < rows && cache.sentenceOf(r1) == b) {
                r1++;
            }
            for (int h = 0; h < heads; h++) {
                int o = r0 * d + h * headDim;
                AttentionKernel.attend(kernels, s.q, o, d, r1 - r0, s.attention.offHeap.set(ek, ev, cache.crossOffset(b, h)),
                        cache.sourceLength(b), headDim, s.attention, s.context, o, d);
            }
            r0 = r1;
        }
        out.forward(s.context, 0, rows, result, 0);
    }

    /** Per-call working memory, owned by a {@link Workspace} and reused across layers, steps and batches. */
    public static final class Scratch {
        float[] q = new float[0];       // [rows, d]
        float[] k = new float[0];       // [rows, d]
        float[] v = new float[0];       // [rows, d]
        float[] context = new float[0]; // [rows, d]
        final AttentionKernel.Scratch attention = new AttentionKernel.Scratch();

        public Scratch() {
        }

        /** Grows the buffers to {@code rows} rows of width {@code d}. */
        public void ensure(int rows, int d) {
            int n = Math.multiplyExact(rows, d);
            q = FloatArrays.ensure(q, n);
            k = FloatArrays.ensure(k, n);
            v = FloatArrays.ensure(v, n);
            context = FloatArrays.ensure(context, n);
        }

        /** Floats held by the attention kernel's scratch (tiles, one score block, two per query). */
        public int attentionFloats() {
            return attention.floats();
        }
    }
}
