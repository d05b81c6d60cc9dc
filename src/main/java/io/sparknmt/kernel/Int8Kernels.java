package io.sparknmt.kernel;

/**
 * int8 weights with per-output-row scales, times activations quantized per row to int16: an
 * integer dot product, so every summation order gives the same sum and the fast path
 * ({@link VectorKernels}) equals this scalar twin exactly.
 *
 * <p>Why int16 activations, not int8 (as CTranslate2 does): an int32 sum of {@code k} products
 * of {@code |q_w| <= 127} and {@code |q_x| <= A} cannot overflow when {@code A <= 2^31 / (127 k)};
 * for d_model 512 that is the whole int16 range, for FFN 2048 still 8,256 levels (13 bits),
 * against 127 for int8. The weights carry the quantization error; the activations add little.
 * Where a row's activations are not finite the row's outputs are NaN, as a float product is.
 *
 * <p>Output: {@code y[i][j] = (float) sum * (sx[i] * sw[j]) + bias[j]}, one expression in both
 * twins.
 */
public final class Int8Kernels {
    private Int8Kernels() {
    }

    /** Largest activation level for an inner dimension of {@code k}: no int32 overflow. */
    public static int activationLevels(int k) {
        return (int) Math.min(Short.MAX_VALUE, (long) Integer.MAX_VALUE / (127L * k));
    }

    /** Quantizes a {@code [n, k]} checkpoint-layout weight: per row, scale = max|w| / 127. */
    public static PackedWeight.Int8Rows quantize(float[] w, int n, int k) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException("weight has " + w.length + " values, expected " + n + "x" + k);
        }
        byte[] q = new byte[w.length];
        float[] scales = new float[n];
        for (int j = 0; j < n; j++) {
            int o = j * k;
            float amax = 0f;
            for (int p = 0; p < k; p++) {
                amax = Math.max(amax, Math.abs(w[o + p]));
            }
            if (!Float.isFinite(amax)) {
                throw new IllegalArgumentException("weight row " + j + " is not finite");
            }
            float s = amax / 127f;
            scales[j] = s;
            if (s == 0f) {
                continue;
            }
            for (int p = 0; p < k; p++) {
                int v = Math.round(w[o + p] / s);
                q[o + p] = (byte) Math.max(-127, Math.min(127, v));
            }
        }
        return new PackedWeight.Int8Rows(n, k, q, scales);
    }

    /**
     * Quantizes {@code m} rows of {@code x} (stride k, from xOff) to {@code xq} with one scale per
     * row in {@code xs}: {@code scale = max|x| / activationLevels(k)}.
     */
    static void quantizeRows(float[] x, int xOff, int m, int k, short[] xq, float[] xs) {
        int levels = activationLevels(k);
        for (int i = 0; i < m; i++) {
            int o = xOff + i * k;
            float amax = 0f;
            for (int p = 0; p < k; p++) {
                amax = Math.max(amax, Math.abs(x[o + p]));
            }
            int d = i * k;
            if (!(amax < Float.POSITIVE_INFINITY)) { // inf or NaN: the row's outputs become NaN
                xs[i] = Float.NaN;
                java.util.Arrays.fill(xq, d, d + k, (short) 0);
                continue;
            }
            float s = amax / levels;
            xs[i] = s;
            if (s == 0f) {
                java.util.Arrays.fill(xq, d, d + k, (short) 0);
                continue;
            }
            float inv = 1f / s;
            for (int p = 0; p < k; p++) {
                int v = Math.round(x[o + p] * inv);
                xq[d + p] = (short) Math.max(-levels, Math.min(levels, v));
            }
        }
    }

    /** Per-thread activation buffers: [0] short[] quantized rows, [1] float[] row scales. */
    private static final ThreadLocal<Object[]> BUFFERS = ThreadLocal.withInitial(() -> new Object[]{new short[0], new float[0]});

    /** The calling thread's buffers, grown for {@code m} rows of {@code k}; [0] short[], [1] float[]. */
    static Object[] buffers(int m, int k) {
        Object[] b = BUFFERS.get();
        if (((short[]) b[0]).length < m * k) {
            b[0] = new short[m * k];
        }
        if (((float[]) b[1]).length < m) {
            b[1] = new float[m];
        }
        return b;
    }

    static float output(int sum, float sx, float sw, float[] bias, int j) {
        float v = (float) sum * (sx * sw);
        return bias == null ? v : v + bias[j];
    }

    /** The scalar twin: plain loops, row by row. */
    static void linearScalar(float[] x, int xOff, int m, PackedWeight.Int8Rows w, float[] bias, float[] y, int yOff) {
        int n = w.n();
        int k = w.k();
        Object[] b = buffers(m, k);
        short[] xq = (short[]) b[0];
        float[] xs = (float[]) b[1];
        quantizeRows(x, xOff, m, k, xq, xs);
        byte[] q = w.data();
        float[] sw = w.scales();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += xq[i * k + p] * q[j * k + p];
                }
                y[yOff + i * n + j] = output(sum, xs[i], sw[j], bias, j);
            }
        }
    }

    /**
     * The same sums, weight-row outer: each row of W (k bytes, in L1) serves every activation
     * row of the batch before the next is read, so the weights stream once per call whatever
     * {@code m}; the inner loop is the plain short x byte -> int reduction that C2 may
     * auto-vectorize. Used where the vector module is absent; {@link VectorKernels} has its own.
     */
    static void linearBlocked(float[] x, int xOff, int m, PackedWeight.Int8Rows w, float[] bias, float[] y, int yOff) {
        int n = w.n();
        int k = w.k();
        Object[] b = buffers(m, k);
        short[] xq = (short[]) b[0];
        float[] xs = (float[]) b[1];
        quantizeRows(x, xOff, m, k, xq, xs);
        byte[] q = w.data();
        float[] sw = w.scales();
        for (int j = 0; j < n; j++) {
            int wo = j * k;
            for (int i = 0; i < m; i++) {
                int xo = i * k;
                int sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += xq[xo + p] * q[wo + p];
                }
                y[yOff + i * n + j] = output(sum, xs[i], sw[j], bias, j);
            }
        }
    }
}
