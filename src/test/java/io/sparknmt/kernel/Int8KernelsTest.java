package io.sparknmt.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The int8 weight kernels: the fast paths equal the scalar twin exactly, and the error is bounded. */
class Int8KernelsTest {

    private static float[] rand(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    private static final int[][] SHAPES = {
        {1, 512, 512}, {4, 512, 2048}, {7, 2048, 512}, {32, 64, 37}, {5, 33, 19}, {128, 256, 101}, {3, 8, 1}, {1, 1, 1},
    };

    @Test
    void fastPathsEqualTheScalarTwinExactly() {
        Random r = new Random(42);
        Kernels active = KernelProvider.get();
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] w = rand(r, n * k, 0.05f);
            float[] x = rand(r, 2 + m * k, 1f);
            float[] bias = rand(r, n, 0.1f);
            PackedWeight.Int8Rows q = Int8Kernels.quantize(w, n, k);
            float[] want = new float[m * n];
            Int8Kernels.linearScalar(x, 2, m, q, bias, want, 0);
            float[] blocked = new float[m * n];
            Int8Kernels.linearBlocked(x, 2, m, q, bias, blocked, 0);
            assertArrayEquals(want, blocked, 0f, "blocked " + m + "x" + k + "x" + n);
            for (Kernels kernels : new Kernels[]{new ScalarKernels(), active}) {
                float[] got = new float[m * n + 3];
                kernels.linear(x, 2, m, q, bias, got, 3);
                float[] g = java.util.Arrays.copyOfRange(got, 3, got.length);
                assertArrayEquals(want, g, 0f, kernels.name() + " " + m + "x" + k + "x" + n);
            }
            float[] noBias = new float[m * n];
            active.linear(x, 2, m, q, null, noBias, 0);
            float[] noBiasWant = new float[m * n];
            Int8Kernels.linearScalar(x, 2, m, q, null, noBiasWant, 0);
            assertArrayEquals(noBiasWant, noBias, 0f);
        }
    }

    @Test
    void kernelThreadsGiveTheSameSums() {
        Random r = new Random(5);
        for (int[] s : new int[][]{{32, 512, 1001}, {4, 512, 2048}, {9, 64, 130}}) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            PackedWeight.Int8Rows q = Int8Kernels.quantize(rand(r, n * k, 0.05f), n, k);
            float[] x = rand(r, m * k, 1f);
            float[] bias = rand(r, n, 0.1f);
            float[] want = new float[m * n];
            Int8Kernels.linearScalar(x, 0, m, q, bias, want, 0);
            for (int threads : new int[]{2, 3}) {
                float[] got = new float[m * n];
                try (KernelThreads g = KernelThreads.open(threads)) {
                    KernelProvider.get().linear(x, 0, m, q, bias, got, 0);
                }
                assertArrayEquals(want, got, 0f, threads + " threads, " + m + "x" + k + "x" + n);
            }
        }
    }

    /**
     * |y_int8 - y_float| <= sum_p |x_p| |dw_p| + |w_p| |dx_p| + |dx_p| |dw_p| with |dw| <= sw / 2 and
     * |dx| <= sx / 2, plus float rounding of the exact product.
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
            PackedWeight.Int8Rows q = Int8Kernels.quantize(w, n, k);
            float[] y = new float[m * n];
            KernelProvider.get().linear(x, 0, m, q, null, y, 0);
            int levels = Int8Kernels.activationLevels(k);
            for (int i = 0; i < m; i++) {
                double xmax = 0;
                for (int p = 0; p < k; p++) {
                    xmax = Math.max(xmax, Math.abs(x[i * k + p]));
                }
                double sx = xmax / levels;
                for (int j = 0; j < n; j++) {
                    double exact = 0;
                    double bound = 0;
                    double sw = q.scales()[j];
                    for (int p = 0; p < k; p++) {
                        double xv = x[i * k + p];
                        double wv = w[j * k + p];
                        exact += xv * wv;
                        bound += Math.abs(xv) * sw / 2 + Math.abs(wv) * sx / 2 + sx * sw / 4;
                    }
                    bound = bound * 1.001 + 1e-6 * (Math.abs(exact) + 1e-3);
                    double err = Math.abs(y[i * n + j] - exact);
                    assertTrue(err <= bound, m + "x" + k + "x" + n + " [" + i + "," + j + "]: error " + err
                            + " > bound " + bound);
                }
            }
        }
    }

    @Test
    void rowsDequantizeWithinHalfAStep() {
        Random r = new Random(1);
        int n = 9;
        int k = 70;
        float[] w = rand(r, n * k, 1f);
        w[5] = 0f;
        java.util.Arrays.fill(w, 2 * k, 3 * k, 0f); // an all-zero row: scale 0, values 0
        PackedWeight.Int8Rows q = Int8Kernels.quantize(w, n, k);
        assertEquals(n * k + 4L * n, q.bytes());
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            q.copyRow(j, row, 0);
            for (int p = 0; p < k; p++) {
                assertTrue(Math.abs(row[p] - w[j * k + p]) <= q.scales()[j] * 0.5001f, "row " + j + " col " + p);
            }
        }
        assertEquals(0f, q.scales()[2]);
    }

    @Test
    void nonFiniteActivationsGiveNaNRows() {
        int k = 16;
        int n = 5;
        float[] w = rand(new Random(2), n * k, 1f);
        float[] x = new float[2 * k];
        x[3] = Float.POSITIVE_INFINITY;
        x[k + 1] = 1f;
        float[] y = new float[2 * n];
        KernelProvider.get().linear(x, 0, 2, Int8Kernels.quantize(w, n, k), null, y, 0);
        for (int j = 0; j < n; j++) {
            assertTrue(Float.isNaN(y[j]));
            assertTrue(Float.isFinite(y[n + j]));
        }
    }
}
