package io.sparknmt.kernel;

/**
 * Attention for one query row of one head: {@code out = softmax(q . K^T) . V} over {@code len}
 * keys. Scratch is one row of {@code len} scores, never a {@code [tgt, src]} matrix, so memory
 * grows linearly with the source length. Masked keys are simply not visited: the caller passes
 * only the keys the query may see (padding and future positions excluded), which equals adding
 * -inf to their scores.
 */
public final class AttentionKernel {
    private AttentionKernel() {
    }

    /**
     * @param q        query values, head slice at {@code qOff}, already scaled by head_dim^-0.5
     * @param k        keys; key {@code j}'s head slice is at {@code kvOff + j * stride}
     * @param v        values, same layout as {@code k}
     * @param len      keys visible to this query (>= 1)
     * @param headDim  values per head
     * @param scores   scratch, at least {@code len}
     * @param out      receives the head's output at {@code outOff}
     */
    public static void attendRow(Kernels kr, float[] q, int qOff, float[] k, float[] v, int kvOff, int stride,
                                 int len, int headDim, float[] scores, float[] out, int outOff) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            float s = kr.dot(q, qOff, k, kvOff + j * stride, headDim);
            scores[j] = s;
            if (s > max) {
                max = s;
            }
        }
        float sum = 0f;
        for (int j = 0; j < len; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        java.util.Arrays.fill(out, outOff, outOff + headDim, 0f);
        for (int j = 0; j < len; j++) {
            kr.axpy(scores[j] * inv, v, kvOff + j * stride, out, outOff, headDim);
        }
    }
}
