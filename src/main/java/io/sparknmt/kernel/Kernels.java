package io.sparknmt.kernel;

/**
 * The seam where the hot loops of the Transformer live. Every implementation computes the same
 * math; {@link ScalarKernels} is the plain-loop twin that the fast path is tested against.
 *
 * <p>Conventions: matrices are row-major {@code float[]}; a "linear" weight is stored the way the
 * checkpoint stores it, {@code [out, in]}, and prepared once with {@link #pack}.
 */
public interface Kernels {

    /** A short name for logs: which path is active. */
    String name();

    /**
     * Prepares a {@code [n, k]} weight matrix (checkpoint layout, y = x W^T) for {@link #linear}.
     * Called once per weight at model load.
     */
    PackedWeight pack(float[] w, int n, int k);

    /**
     * As {@link #pack(float[], int, int)} in {@code format}: {@link WeightFormat#FLOAT} packs the
     * values as they are, {@link WeightFormat#INT8} quantizes each output row
     * ({@link Int8Kernels#pack}), {@link WeightFormat#BF16} rounds each value ({@link Bf16}).
     */
    default PackedWeight pack(float[] w, int n, int k, WeightFormat format) {
        return switch (format) {
            case INT8 -> Int8Kernels.pack(w, n, k, BF16_PANEL);
            case BF16 -> Bf16.pack(w, n, k, BF16_PANEL);
            case FLOAT -> pack(w, n, k);
        };
    }

    /** Panel width of bf16 and int8 weights for kernels without a vector width of their own. */
    int BF16_PANEL = 16;

    /**
     * The weight made of rows {@code rows} of {@code w} (output features, in that order), packed as
     * {@code w} is: row {@code i} of the result holds exactly row {@code rows[i]} of {@code w}, so
     * {@link #linear} gives the same values for those outputs (a shortlist's rows of lm_head).
     */
    default PackedWeight selectRows(PackedWeight w, int[] rows) {
        int k = w.k();
        if (w instanceof PackedWeight.Int8Panels q) {
            return Int8Kernels.selectRows(q, rows);
        }
        float[] tmp = new float[Math.multiplyExact(rows.length, k)];
        for (int i = 0; i < rows.length; i++) {
            w.copyRow(rows[i], tmp, i * k);
        }
        // bf16 values are floats exactly, so rounding them again keeps them
        return w instanceof PackedWeight.Bf16Panels ? pack(tmp, rows.length, k, WeightFormat.BF16) : pack(tmp, rows.length, k);
    }

    /**
     * {@code y[m, n] = x[m, k] . W^T + bias}; {@code bias} may be null. {@code x} rows start at
     * {@code xOff} with stride {@code k}; {@code y} rows start at {@code yOff} with stride {@code n}.
     */
    void linear(float[] x, int xOff, int m, PackedWeight w, float[] bias, float[] y, int yOff);

    /** Sum of {@code a[aOff + i] * b[bOff + i]} for {@code i < len}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int len);

    /** {@code y[yOff + i] += alpha * x[xOff + i]} for {@code i < len}. */
    void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len);

    /** {@code x[off + i] *= alpha} for {@code i < len}. */
    void scale(float[] x, int off, int len, float alpha);

    /** The largest of {@code x[off, off + len)} ({@code -inf} when all are, or len is 0). */
    float max(float[] x, int off, int len);

    /** First index of the maximum of {@code x[off, off + len)}, relative to off, as torch.argmax. */
    int argmax(float[] x, int off, int len);

    /**
     * {@code sum(exp(x[i] - shift))} over {@code x[off, off + len)}: each term in float, summed in
     * double, so the error stays far below float's.
     */
    double sumExp(float[] x, int off, int len, float shift);

    /** {@code x[off + i] += c} for {@code i < len}. */
    void add(float[] x, int off, int len, float c);

    /** {@code x = x * sigmoid(x)} (swish / SiLU) in place, in float. */
    void swish(float[] x, int off, int len);

    /**
     * The first {@code i} in {@code [from, to)} with {@code x[i] + add > threshold} (the sum
     * rounded to float), or {@code to}: the scan of a top-k selection.
     */
    int nextAbove(float[] x, int from, int to, float add, float threshold);

    /**
     * {@code x[i] = exp(x[i] - shift)} in place over {@code x[off, off + len)}; returns the sum of
     * the new values (in float): the softmax numerators and their denominator.
     */
    float expInPlace(float[] x, int off, int len, float shift);
}
