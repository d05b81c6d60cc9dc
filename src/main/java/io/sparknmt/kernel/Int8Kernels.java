package io.sparknmt.kernel;

/**
 * int8 weights ({@code --weights int8}, opt-in): each output feature's row quantized at load to
 * int8 with its own scale ({@code scale = max|w| / 127}, round half away from zero), kept in column
 * panels as {@link PackedWeight.Int8Panels}, one byte per weight: a quarter of float32's bytes. The
 * vector tiles widen each byte to a float in registers and the math stays float32: activations are
 * not quantized, and a value is {@code y[j] = (sum_p x[p] * q[j][p]) * scale[j] + bias[j]}, the sum
 * one FMA chain from zero over {@code p} in order, then one FMA with the scale and the bias (a
 * multiply where there is no bias). {@link #linearRows} is the scalar twin, with the same chains.
 *
 * <p>Why not integer products: the Vector API has no int8 or int16 dot product. The route through
 * it (bytes and shorts widened to int lanes, {@code vpmulld}, add) ran at 19-28 GFLOP/s against the
 * float tile's 56-108 on an AVX-512 Xeon, and C2 did not vectorize a plain short x byte -> int
 * reduction loop at all (2-3 GFLOP/s), on Java 17 and 25 alike (README, "Performance (honest numbers)"). Widening bytes to
 * floats costs two instructions per vector of weights, shared by every row of a register tile, and
 * keeps the FMA rate, while the bytes streamed from memory per decoding step drop four times.
 */
public final class Int8Kernels {
    private Int8Kernels() {
    }

    /**
     * Quantizes a {@code [n, k]} checkpoint weight, per output row, into column panels of
     * {@code panel} features.
     *
     * @throws IllegalArgumentException when a row is not finite, naming it
     */
    public static PackedWeight.Int8Panels pack(float[] w, int n, int k, int panel) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException("weight has " + w.length + " values, expected " + n + "x" + k);
        }
        if (panel < 1) {
            throw new IllegalArgumentException("int8 panel width must be positive, got " + panel);
        }
        int panels = (n + panel - 1) / panel;
        byte[] data = new byte[Math.multiplyExact(Math.multiplyExact(panels, k), panel)];
        float[] scales = new float[panels * panel];
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
            int base = (j / panel) * k * panel + j % panel;
            for (int p = 0; p < k; p++) {
                int v = Math.round(w[o + p] / s);
                data[base + p * panel] = (byte) Math.max(-127, Math.min(127, v));
            }
        }
        return new PackedWeight.Int8Panels(n, k, data, scales, panel);
    }

    /**
     * The weight made of rows {@code rows} of {@code w}, in that order, in panels as wide as
     * {@code w}'s: the same bytes and scales, so the same outputs (a shortlist's rows of lm_head).
     */
    static PackedWeight.Int8Panels selectRows(PackedWeight.Int8Panels w, int[] rows) {
        int k = w.k();
        int panel = w.panel();
        int n = rows.length;
        int panels = (n + panel - 1) / panel;
        byte[] data = new byte[Math.multiplyExact(Math.multiplyExact(panels, k), panel)];
        float[] scales = new float[panels * panel];
        byte[] src = w.data();
        for (int i = 0; i < n; i++) {
            int row = rows[i];
            if (row < 0 || row >= w.n()) {
                throw new IndexOutOfBoundsException("row " + row + " of a weight with " + w.n() + " rows");
            }
            scales[i] = w.scales()[row];
            int from = (row / panel) * k * panel + row % panel;
            int to = (i / panel) * k * panel + i % panel;
            for (int kk = 0; kk < k; kk++) {
                data[to + kk * panel] = src[from + kk * panel];
            }
        }
        return new PackedWeight.Int8Panels(n, k, data, scales, panel);
    }

    /** The output of one sum: {@code sum * scale + bias} in one rounding, or {@code sum * scale}. */
    static float output(float sum, float scale, float[] bias, int j) {
        return bias == null ? sum * scale : Math.fma(sum, scale, bias[j]);
    }

    /**
     * {@code y = x W^T + bias} in plain loops: the scalar twin of the vector tiles, which give the
     * same values (one FMA chain from zero per value, k in order, then {@link #output}).
     */
    static void linearRows(float[] x, int xOff, int m, PackedWeight.Int8Panels w, float[] bias, float[] y, int yOff) {
        int n = w.n();
        int k = w.k();
        int panel = w.panel();
        byte[] q = w.data();
        float[] s = w.scales();
        for (int j = 0; j < n; j++) {
            int base = (j / panel) * k * panel + j % panel;
            for (int i = 0; i < m; i++) {
                int xr = xOff + i * k;
                float acc = 0f;
                for (int kk = 0; kk < k; kk++) {
                    acc = Math.fma(x[xr + kk], (float) q[base + kk * panel], acc);
                }
                y[yOff + i * n + j] = output(acc, s[j], bias, j);
            }
        }
    }
}
