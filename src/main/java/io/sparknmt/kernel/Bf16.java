package io.sparknmt.kernel;

/**
 * bfloat16 weights ({@code --weights bf16}, opt-in): each float32 weight rounded to the nearest
 * bfloat16 (8 bits of mantissa, round half to even), kept in column panels as
 * {@link PackedWeight.Bf16Panels}, and widened back to float32 in registers by a shift. The math
 * stays float32; only the weights' bytes halve. That is what the decoder needs where it is bound by
 * memory bandwidth: at a few dozen hypothesis rows every decoding step streams every weight once.
 *
 * <p>Layout: panels of {@code panel} output features, k-major; each int holds two bfloat16 values,
 * feature {@code j} of the panel in its low half and feature {@code j + panel / 2} in its high half,
 * so one vector load of {@code panel / 2} ints gives both halves of the panel's row {@code kk}
 * (the low halves shifted left by 16, the high halves masked). Features past {@code n} are zero.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** The bfloat16 nearest to {@code f} (half to even; NaN stays NaN), as its 16 bits. */
    public static int round(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (bits >>> 16) | 0x40; // quiet NaN
        }
        int lsb = (bits >>> 16) & 1;
        return ((bits + 0x7FFF + lsb) >>> 16) & 0xFFFF;
    }

    /** The float32 value of bfloat16 bits {@code h} (exact). */
    public static float value(int h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** Rounds a {@code [n, k]} checkpoint weight into panels of {@code panel} features (even). */
    public static PackedWeight.Bf16Panels pack(float[] w, int n, int k, int panel) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException("weight has " + w.length + " values, expected " + n + "x" + k);
        }
        if (panel < 2 || panel % 2 != 0) {
            throw new IllegalArgumentException("bf16 panel width must be even, got " + panel);
        }
        int half = panel / 2;
        int panels = (n + panel - 1) / panel;
        int[] data = new int[Math.multiplyExact(Math.multiplyExact(panels, k), half)];
        for (int p = 0; p < panels; p++) {
            for (int j = 0; j < panel; j++) {
                int col = p * panel + j;
                if (col >= n) {
                    break;
                }
                int src = col * k;
                int shift = j < half ? 0 : 16;
                int base = p * k * half + (j % half);
                for (int kk = 0; kk < k; kk++) {
                    data[base + kk * half] |= round(w[src + kk]) << shift;
                }
            }
        }
        return new PackedWeight.Bf16Panels(n, k, data, panel);
    }

    /**
     * {@code y = x W^T + bias}, one FMA chain per value (bias, then k in order): the scalar twin of
     * the vector tiles, which give the same values. Reads each feature's row through
     * {@link PackedWeight.Bf16Panels#copyRow}, the one decoder of the layout.
     */
    static void linearRows(float[] x, int xOff, int m, PackedWeight.Bf16Panels w, float[] bias, float[] y, int yOff) {
        int n = w.n();
        int k = w.k();
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            w.copyRow(j, row, 0);
            for (int i = 0; i < m; i++) {
                int xr = xOff + i * k;
                float acc = bias == null ? 0f : bias[j];
                for (int kk = 0; kk < k; kk++) {
                    acc = Math.fma(x[xr + kk], row[kk], acc);
                }
                y[yOff + i * n + j] = acc;
            }
        }
    }
}
