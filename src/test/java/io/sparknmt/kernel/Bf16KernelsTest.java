package io.sparknmt.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * bf16 weights: rounding half to even, the vector tiles equal the scalar twin bit for bit (same FMA
 * chain over the same rounded weights), whatever the panel, row block or thread split.
 */
class Bf16KernelsTest {
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
    void roundsHalfToEven() {
        assertEquals(0x3F80, Bf16.round(1.0f));
        assertEquals(1.0f, Bf16.value(Bf16.round(1.0f)));
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: to the even one, 1
        assertEquals(0x3F80, Bf16.round(Float.intBitsToFloat(0x3F808000)));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: to the even one
        assertEquals(0x3F82, Bf16.round(Float.intBitsToFloat(0x3F818000)));
        // just past halfway rounds up, just below rounds down
        assertEquals(0x3F81, Bf16.round(Float.intBitsToFloat(0x3F808001)));
        assertEquals(0x3F80, Bf16.round(Float.intBitsToFloat(0x3F807FFF)));
        assertEquals(-2.5f, Bf16.value(Bf16.round(-2.5f)));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.value(Bf16.round(Float.POSITIVE_INFINITY)));
        assertTrue(Float.isNaN(Bf16.value(Bf16.round(Float.NaN))));
        Random r = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(20) - 10));
            float b = Bf16.value(Bf16.round(f));
            assertTrue(Math.abs(b - f) <= Math.abs(f) / 256, f + " -> " + b + ": more than half a bf16 ulp");
        }
    }

    @Test
    void copyRowGivesTheRoundedCheckpointRow() {
        Random r = new Random(8);
        int n = 37;
        int k = 11;
        float[] w = rand(r, n * k, 1f);
        for (Kernels kernels : new Kernels[]{new ScalarKernels(), KernelProvider.get()}) {
            PackedWeight h = kernels.pack(w, n, k, WeightFormat.BF16);
            assertTrue(h instanceof PackedWeight.Bf16Panels, kernels.name());
            float[] row = new float[k];
            for (int j = 0; j < n; j++) {
                h.copyRow(j, row, 0);
                for (int kk = 0; kk < k; kk++) {
                    assertEquals(Bf16.value(Bf16.round(w[j * k + kk])), row[kk], 0f, kernels.name() + " row " + j);
                }
            }
            // a shortlist's rows of a bf16 lm_head: bf16 again, with the same values
            int[] rows = {36, 0, 17, 5};
            PackedWeight sel = kernels.selectRows(h, rows);
            assertTrue(sel instanceof PackedWeight.Bf16Panels);
            for (int i = 0; i < rows.length; i++) {
                float[] a = new float[k];
                float[] b = new float[k];
                h.copyRow(rows[i], a, 0);
                sel.copyRow(i, b, 0);
                assertArrayEquals(a, b, 0f);
            }
        }
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
            PackedWeight.Bf16Panels twin = Bf16.pack(w, n, k, 16);
            for (float[] b : new float[][]{bias, null}) {
                float[] want = new float[m * n];
                Bf16.linearRows(x, 2, m, twin, b, want, 0);
                // the float math over the rounded weights, within float rounding
                float[] rounded = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    rounded[i] = Bf16.value(Bf16.round(w[i]));
                }
                float[] ref = new float[m * n];
                new ScalarKernels().linear(x, 2, m, new ScalarKernels().pack(rounded, n, k), b, ref, 0);
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], want[i], 1e-4f * (1 + Math.abs(ref[i])), m + "x" + k + "x" + n + " at " + i);
                }
                for (Kernels kernels : new Kernels[]{new ScalarKernels(), active}) {
                    PackedWeight h = kernels.pack(w, n, k, WeightFormat.BF16);
                    float[] got = new float[m * n + 3];
                    kernels.linear(x, 2, m, h, b, got, 3);
                    assertArrayEquals(want, Arrays.copyOfRange(got, 3, got.length), 0f,
                            kernels.name() + " " + m + "x" + k + "x" + n + (b == null ? " no bias" : ""));
                    try (KernelThreads group = KernelThreads.open(3)) {
                        float[] three = new float[m * n];
                        kernels.linear(x, 2, m, h, b, three, 0);
                        assertArrayEquals(want, three, 0f, kernels.name() + " 3 threads " + m + "x" + k + "x" + n);
                    }
                }
            }
        }
    }

    @Test
    void halvesTheWeightBytes() {
        float[] w = rand(new Random(1), 512 * 2048, 1f);
        Kernels k = KernelProvider.get();
        assertEquals(k.pack(w, 2048, 512).bytes() / 2, k.pack(w, 2048, 512, WeightFormat.BF16).bytes());
    }
}
