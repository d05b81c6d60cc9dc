package io.sparknmt.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * int8 weights in float math: the vector tiles equal the scalar twin bit for bit (same FMA chains
 * over the same bytes and scales) whatever the panel, row block or thread split, and the error
 * against the float weights stays within the quantization bound.
 */
class Int8KernelsTest {
    private static final int[][] SHAPES = {
        {1, 512, 512}, {4, 512, 2048}, {7, 2048, 512}, {32, 64, 37}, {5, 33, 19}, {128, 256, 101}, {3, 8, 1},
        {1, 1, 1}, {33, 300, 1000},
    };

    private static float[] rand(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    @Test
    void vectorTilesEqualTheScalarTwinBitForBit() {
        Random r = new Random(42);
        Kernels active = KernelProvider.get();
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] w = rand(r, n * k, 0.05f);
            float[] x = rand(r, 2 + m * k, 1f);
            float[] bias = rand(r, n, 0.1f);
            PackedWeight.Int8Panels twin = Int8Kernels.pack(w, n, k, 16);
            for (float[] b : new float[][]{bias, null}) {
                float[] want = new float[m * n];
                Int8Kernels.linearRows(x, 2, m, twin, b, want, 0);
                for (Kernels kernels : new Kernels[]{new ScalarKernels(), active}) {
                    PackedWeight q = kernels.pack(w, n, k, WeightFormat.INT8);
                    assertTrue(q instanceof PackedWeight.Int8Panels, kernels.name());
                    float[] got = new float[m * n + 3];
                    kernels.linear(x, 2, m, q, b, got, 3);
                    assertArrayEquals(want, Arrays.copyOfRange(got, 3, got.length), 0f,
                            kernels.name() + " " + m + "x" + k + "x" + n + (b == null ? " no bias" : ""));
                    for (int threads : new int[]{2, 3}) {
                        try (KernelThreads group = KernelThreads.open(threads)) {
                            float[] split = new float[m * n];
                            kernels.linear(x, 2, m, q, b, split, 0);
                            assertArrayEquals(want, split, 0f, kernels.name() + " " + threads + " threads " + m + "x" + k + "x" + n);
                        }
                    }
                }
            }
        }
    }

    /**
     * |y_int8 - y_float| <= sum_p |x_p| |dw_p| with |dw_p| <= scale / 2, plus the float rounding of
     * a k-term sum.
     */
    @Test
    void quantizationErrorIsWithinItsBound() {
        Random r = new Random(7);
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] w = rand(r, n * k, 0.05f);
            float[] x = rand(r, m * k, 1f);
            PackedWeight.Int8Panels q = (PackedWeight.Int8Panels) KernelProvider.get().pack(w, n, k, WeightFormat.INT8);
            float[] y = new float[m * n];
            KernelProvider.get().linear(x, 0, m, q, null, y, 0);
            double worst = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0;
                    double bound = 0;
                    double abs = 0;
                    for (int p = 0; p < k; p++) {
                        double xv = x[i * k + p];
                        exact += xv * w[j * k + p];
                        bound += Math.abs(xv) * q.scales()[j] / 2;
                        abs += Math.abs(xv * w[j * k + p]);
                    }
                    bound = bound * 1.001 + k * 1.2e-7 * (abs + bound);
                    double err = Math.abs(y[i * n + j] - exact);
                    assertTrue(err <= bound, m + "x" + k + "x" + n + " [" + i + "," + j + "]: error " + err
                            + " > bound " + bound);
                    worst = Math.max(worst, err / Math.max(bound, 1e-30));
                }
            }
            // the bound is not loose by orders of magnitude: some value comes within a tenth of it
            if ((long) m * n * k >= 100_000) {
                assertTrue(worst > 0.02, "worst error only " + worst + " of its bound at " + m + "x" + k + "x" + n);
            }
        }
    }

    @Test
    void rowsDequantizeWithinHalfAStepAndSelectKeepsThem() {
        Random r = new Random(1);
        int n = 37;
        int k = 70;
        float[] w = rand(r, n * k, 1f);
        w[5] = 0f;
        Arrays.fill(w, 2 * k, 3 * k, 0f); // an all-zero row: scale 0, values 0
        for (Kernels kernels : new Kernels[]{new ScalarKernels(), KernelProvider.get()}) {
            PackedWeight.Int8Panels q = (PackedWeight.Int8Panels) kernels.pack(w, n, k, WeightFormat.INT8);
            float[] row = new float[k];
            for (int j = 0; j < n; j++) {
                q.copyRow(j, row, 0);
                for (int p = 0; p < k; p++) {
                    assertTrue(Math.abs(row[p] - w[j * k + p]) <= q.scales()[j] * 0.5001f, "row " + j + " col " + p);
                }
            }
            assertEquals(0f, q.scales()[2]);
            q.copyRow(2, row, 0);
            assertArrayEquals(new float[k], row, 0f);
            // a shortlist's rows of an int8 lm_head: the same bytes and scales, so the same outputs
            int[] rows = {36, 0, 17, 5, 2};
            PackedWeight sel = kernels.selectRows(q, rows);
            assertTrue(sel instanceof PackedWeight.Int8Panels);
            float[] x = rand(r, 3 * k, 1f);
            float[] bias = rand(r, n, 1f);
            float[] selBias = new float[rows.length];
            for (int i = 0; i < rows.length; i++) {
                selBias[i] = bias[rows[i]];
            }
            float[] full = new float[3 * n];
            float[] part = new float[3 * rows.length];
            kernels.linear(x, 0, 3, q, bias, full, 0);
            kernels.linear(x, 0, 3, sel, selBias, part, 0);
            for (int i = 0; i < 3; i++) {
                for (int c = 0; c < rows.length; c++) {
                    assertEquals(full[i * n + rows[c]], part[i * rows.length + c], 0f, kernels.name() + " row " + rows[c]);
                }
            }
        }
    }

    @Test
    void quartersTheWeightBytes() {
        float[] w = rand(new Random(1), 512 * 2048, 1f);
        Kernels k = KernelProvider.get();
        long f = k.pack(w, 2048, 512).bytes();
        long q = k.pack(w, 2048, 512, WeightFormat.INT8).bytes();
        assertEquals(f / 4 + 4L * 2048, q);
    }

    @Test
    void nonFiniteWeightsAreRefusedAndNonFiniteActivationsStayNonFinite() {
        int k = 16;
        int n = 5;
        float[] w = rand(new Random(2), n * k, 1f);
        float[] bad = w.clone();
        bad[3 * k + 4] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelProvider.get().pack(bad, n, k, WeightFormat.INT8));
        assertTrue(e.getMessage().contains("row 3"), e.getMessage());
        float[] x = new float[2 * k];
        x[3] = Float.POSITIVE_INFINITY;
        x[k + 1] = 1f;
        float[] y = new float[2 * n];
        KernelProvider.get().linear(x, 0, 2, KernelProvider.get().pack(w, n, k, WeightFormat.INT8), null, y, 0);
        for (int j = 0; j < n; j++) {
            assertFalse(Float.isFinite(y[j]), "output " + j + " of a row with an infinite activation");
            assertTrue(Float.isFinite(y[n + j]));
        }
    }
}
