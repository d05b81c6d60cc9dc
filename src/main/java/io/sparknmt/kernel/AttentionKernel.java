package io.sparknmt.kernel;

/**
 * Attention for one query row of one head, {@code out = softmax(q . K^T) . V}, computed over
 * blocks of {@link #BLOCK} keys with an online softmax: each block's scores live in a fixed
 * {@code BLOCK}-float scratch (L1), the running output is rescaled when a later block raises the
 * maximum, and the keys and values are streamed once. Scratch does not depend on the number of
 * keys: no {@code [tgt, src]} (or even {@code [src]}) score row is ever materialized.
 *
 * <p>Masks are applied in the kernel by bounds: the caller passes the keys the query may see
 * (a prefix, {@code len}), which equals adding {@code -inf} to padding and future positions.
 *
 * <p>A sentence of at most {@code BLOCK} keys takes the one-block path, which is the plain
 * softmax (max, exponentials, normalized weights), as transformers computes it.
 */
public final class AttentionKernel {
    /** Keys per block: 64 scores, one cache line per 16. */
    public static final int BLOCK = 64;

    private AttentionKernel() {
    }

    /**
     * @param q        query values, head slice at {@code qOff}, already scaled by head_dim^-0.5
     * @param k        keys; key {@code j}'s head slice is at {@code kvOff + j * stride}
     * @param v        values, same layout as {@code k}
     * @param len      keys visible to this query (>= 1)
     * @param headDim  values per head
     * @param scores   scratch of at least {@link #BLOCK} floats
     * @param out      receives the head's output at {@code outOff}
     */
    public static void attendRow(Kernels kr, float[] q, int qOff, float[] k, float[] v, int kvOff, int stride,
                                 int len, int headDim, float[] scores, float[] out, int outOff) {
        if (len <= 0) {
            throw new IllegalArgumentException("a query must see at least one key, got " + len);
        }
        if (len <= BLOCK) {
            float max = scoreBlock(kr, q, qOff, k, kvOff, stride, 0, len, headDim, scores);
            float inv = 1f / kr.expInPlace(scores, 0, len, max);
            java.util.Arrays.fill(out, outOff, outOff + headDim, 0f);
            for (int j = 0; j < len; j++) {
                kr.axpy(scores[j] * inv, v, kvOff + j * stride, out, outOff, headDim);
            }
            return;
        }
        float runMax = Float.NEGATIVE_INFINITY;
        float runSum = 0f;
        java.util.Arrays.fill(out, outOff, outOff + headDim, 0f);
        for (int j0 = 0; j0 < len; j0 += BLOCK) {
            int n = Math.min(BLOCK, len - j0);
            float blockMax = scoreBlock(kr, q, qOff, k, kvOff, stride, j0, n, headDim, scores);
            if (blockMax > runMax) {
                // rescale what was accumulated under the old maximum (exp(-inf) = 0 on the first block)
                float c = (float) Math.exp(runMax - blockMax);
                kr.scale(out, outOff, headDim, c);
                runSum *= c;
                runMax = blockMax;
            }
            runSum += kr.expInPlace(scores, 0, n, runMax);
            for (int j = 0; j < n; j++) {
                kr.axpy(scores[j], v, kvOff + (j0 + j) * stride, out, outOff, headDim);
            }
        }
        kr.scale(out, outOff, headDim, 1f / runSum);
    }

    /** Scores of keys {@code [j0, j0 + n)} into {@code scores[0, n)}; returns their maximum. */
    private static float scoreBlock(Kernels kr, float[] q, int qOff, float[] k, int kvOff, int stride, int j0,
                                    int n, int headDim, float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float s = kr.dot(q, qOff, k, kvOff + (j0 + j) * stride, headDim);
            scores[j] = s;
            max = Math.max(max, s);
        }
        return max;
    }
}
