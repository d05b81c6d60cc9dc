package io.sparknmt.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The fast kernels against their scalar twins, over odd sizes, tails and one-row cases. */
class KernelsTest {
    private final Kernels fast = KernelProvider.get();
    private final Kernels scalar = KernelProvider.scalar();

    @Test
    void vectorPathIsActiveInTests() {
        // surefire runs with --add-modules=jdk.incubator.vector: the fast path must be what we test
        assertTrue(fast.name().startsWith("vector"), fast.name());
    }

    @Test
    void linearMatchesScalarTwinOverManyShapes() {
        Random r = new Random(42);
        int[] ms = {1, 2, 7, 8, 9, 17, 33};
        int[] ns = {1, 5, 15, 16, 17, 31, 32, 33, 100};
        int[] ks = {1, 3, 16, 255, 256, 257, 600};
        for (int m : ms) {
            for (int n : ns) {
                for (int k : ks) {
                    float[] x = rand(r, m * k + 3);
                    float[] w = rand(r, n * k);
                    float[] b = r.nextBoolean() ? rand(r, n) : null;
                    float[] expect = new float[m * n + 5];
                    float[] got = new float[m * n + 5];
                    scalar.linear(x, 3, m, scalar.pack(w, n, k), b, expect, 5);
                    fast.linear(x, 3, m, fast.pack(w, n, k), b, got, 5);
                    for (int i = 0; i < got.length; i++) {
                        float tol = 1e-5f * k + 1e-6f;
                        assertEquals(expect[i], got[i], tol, "m=" + m + " n=" + n + " k=" + k + " at " + i);
                    }
                }
            }
        }
    }

    @Test
    void linearIsIndependentOfTheRowsBatchedWithIt() {
        // A sentence's result must not depend on its batch: same bits alone and in a batch of 19.
        Random r = new Random(5);
        int n = 70;
        int k = 300;
        float[] w = rand(r, n * k);
        PackedWeight pw = fast.pack(w, n, k);
        float[] x = rand(r, 19 * k);
        float[] all = new float[19 * n];
        fast.linear(x, 0, 19, pw, null, all, 0);
        for (int row = 0; row < 19; row++) {
            float[] one = new float[n];
            fast.linear(x, row * k, 1, pw, null, one, 0);
            for (int j = 0; j < n; j++) {
                assertEquals(Float.floatToIntBits(all[row * n + j]), Float.floatToIntBits(one[j]), "row " + row + " col " + j);
            }
        }
    }

    @Test
    void linearSpansSeveralPackedRowBlocks() {
        // k = 2000: a packed activation block holds 8 tiles, so 70 rows take three blocks and a tail
        Random r = new Random(9);
        int m = 70;
        int n = 37;
        int k = 2000;
        float[] x = rand(r, m * k);
        float[] w = rand(r, n * k);
        float[] b = rand(r, n);
        float[] expect = new float[m * n];
        float[] got = new float[m * n];
        scalar.linear(x, 0, m, scalar.pack(w, n, k), b, expect, 0);
        fast.linear(x, 0, m, fast.pack(w, n, k), b, got, 0);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expect[i], got[i], 1e-5f * k, "at " + i);
        }
    }

    @Test
    void rowKernelsMatchScalar() {
        Random r = new Random(11);
        for (int len : new int[]{1, 2, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1000, 58101}) {
            float[] x = new float[len + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * 4);
            }
            String at = "len=" + len;
            assertEquals(scalar.max(x, 3, len), fast.max(x, 3, len), 0f, at);
            assertEquals(scalar.argmax(x, 3, len), fast.argmax(x, 3, len), at);
            float shift = scalar.max(x, 3, len);
            double se = scalar.sumExp(x, 3, len, shift);
            assertEquals(se, fast.sumExp(x, 3, len, shift), 1e-6 * se, at);
            float[] a1 = x.clone();
            float[] a2 = x.clone();
            scalar.add(a1, 3, len, -0.75f);
            fast.add(a2, 3, len, -0.75f);
            assertEquals(java.util.Arrays.toString(a1), java.util.Arrays.toString(a2), at);
            float[] s1 = x.clone();
            float[] s2 = x.clone();
            scalar.swish(s1, 3, len);
            fast.swish(s2, 3, len);
            for (int i = 0; i < s1.length; i++) {
                assertEquals(s1[i], s2[i], 2e-6f * Math.max(1f, Math.abs(s1[i])), at + " swish at " + i);
            }
            for (float threshold : new float[]{shift - 3f, shift - 0.5f, shift + 1f}) {
                for (int from = 3; from < len + 3; from = scalar.nextAbove(x, from, len + 3, 0.25f, threshold) + 1) {
                    int expect = scalar.nextAbove(x, from, len + 3, 0.25f, threshold);
                    assertEquals(expect, fast.nextAbove(x, from, len + 3, 0.25f, threshold), at + " from " + from);
                }
            }
        }
        // ties: the first index of the maximum, as torch.argmax
        float[] tie = {1f, 5f, 2f, 5f, 5f, 0f, 0f, 0f, 0f, 0f, 5f};
        assertEquals(1, fast.argmax(tie, 0, tie.length));
        assertEquals(1, scalar.argmax(tie, 0, tie.length));
        assertEquals(1, fast.argmax(tie, 2, tie.length - 2), "offset rows report the index relative to off");
    }

    @Test
    void kernelThreadsGiveTheSameBitsAndStopWhenClosed() throws InterruptedException {
        Random r = new Random(21);
        int[][] shapes = {{1, 512, 512}, {7, 300, 1000}, {32, 512, 2048}, {33, 2048, 77}};
        for (int[] sh : shapes) {
            int m = sh[0];
            int k = sh[1];
            int n = sh[2];
            float[] x = rand(r, m * k);
            float[] b = rand(r, n);
            PackedWeight pw = fast.pack(rand(r, n * k), n, k);
            float[] one = new float[m * n];
            fast.linear(x, 0, m, pw, b, one, 0);
            float[] three = new float[m * n];
            try (KernelThreads group = KernelThreads.open(3)) {
                assertEquals(3, KernelThreads.current());
                for (int rep = 0; rep < 20; rep++) {
                    java.util.Arrays.fill(three, Float.NaN);
                    fast.linear(x, 0, m, pw, b, three, 0);
                    for (int i = 0; i < one.length; i++) {
                        assertEquals(Float.floatToIntBits(one[i]), Float.floatToIntBits(three[i]),
                                m + "x" + k + "x" + n + " at " + i);
                    }
                }
            }
            assertEquals(1, KernelThreads.current());
        }
        // closed groups leave no helper thread behind
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (helperThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, helperThreads(), "kernel helper threads still alive after close");
    }

    /** When the owner's part of a split call throws, the call returns only after the helpers are done writing. */
    @Test
    void ownerFailureWaitsForTheHelpers() throws InterruptedException {
        Random r = new Random(5);
        int m = 512;
        int k = 1024;
        int n = 4096;
        float[] x = rand(r, m * k);
        PackedWeight pw = fast.pack(rand(r, n * k), n, k);
        float[] y = new float[m * n];
        java.util.Arrays.fill(y, Float.NaN);
        try (KernelThreads group = KernelThreads.open(2)) {
            // yOff -1: the owner's first store (row 0, column 0) is out of bounds; the helper's half is valid work
            assertThrows(IndexOutOfBoundsException.class, () -> fast.linear(x, 0, m, pw, rand(r, n), y, -1));
            float[] atReturn = y.clone();
            int helperFrom = n / 2 + VectorKernels.NR; // well inside the helper's columns
            long unwritten = 0;
            for (int row = 0; row < m; row++) {
                for (int col = helperFrom; col < n; col++) {
                    unwritten += Float.isNaN(atReturn[row * n + col - 1]) ? 1 : 0;
                }
            }
            assertEquals(0, unwritten, "helper outputs not yet written when linear() threw");
            Thread.sleep(200);
            assertArrayEquals(atReturn, y, "the output changed after linear() had returned");
        }
    }

    private static long helperThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().contains("-kernel-") && t.isAlive()).count();
    }

    @Test
    void dotAxpyScaleMatchScalar() {
        Random r = new Random(1);
        for (int len : new int[]{0, 1, 7, 8, 15, 16, 17, 64, 100, 1001}) {
            float[] a = rand(r, len + 2);
            float[] b = rand(r, len + 4);
            assertEquals(scalar.dot(a, 2, b, 4, len), fast.dot(a, 2, b, 4, len), 1e-5f * (len + 1), "dot len=" + len);
            float[] y1 = rand(r, len + 1);
            float[] y2 = y1.clone();
            scalar.axpy(0.37f, a, 1, y1, 1, len);
            fast.axpy(0.37f, a, 1, y2, 1, len);
            for (int i = 0; i < y1.length; i++) {
                assertEquals(y1[i], y2[i], 1e-6f, "axpy len=" + len);
            }
            float[] s1 = a.clone();
            float[] s2 = a.clone();
            scalar.scale(s1, 1, len, -1.5f);
            fast.scale(s2, 1, len, -1.5f);
            for (int i = 0; i < s1.length; i++) {
                assertEquals(s1[i], s2[i], 0f, "scale len=" + len);
            }
        }
    }

    @Test
    void polynomialExpIsWithinTwoUlpOfTheCorrectlyRoundedOne() {
        Random r = new Random(8);
        int worst = 0;
        for (int i = 0; i < 1_000_000; i++) {
            float x = -87f + 175f * r.nextFloat();
            float want = (float) Math.exp(x);
            float got = PolyExp.exp(x);
            int ulps = Math.abs(Float.floatToIntBits(got) - Float.floatToIntBits(want));
            worst = Math.max(worst, ulps);
            if (ulps > 2) {
                throw new AssertionError("exp(" + x + ") = " + got + ", correctly rounded " + want);
            }
        }
        assertEquals(0f, PolyExp.exp(-88f), "flushed to 0 below -87");
        assertEquals(0f, PolyExp.exp(Float.NEGATIVE_INFINITY));
        assertEquals((float) Math.exp(88), PolyExp.exp(1000f), Math.ulp((float) Math.exp(88)) * 2);
        assertTrue(Float.isNaN(PolyExp.exp(Float.NaN)));
        assertEquals(1f, PolyExp.exp(0f));
        assertTrue(worst <= 2);
    }

    @Test
    void vectorExponentialsAreThePolynomialLaneByLaneColdAndCompiled() {
        // The same bits as PolyExp.exp in every lane and tail, before the JIT compiles the
        // vector code and after: no tier-dependent results.
        Random r = new Random(9);
        float[] x = new float[203];
        for (int i = 0; i < x.length; i++) {
            x[i] = (r.nextFloat() - 0.7f) * 40f;
        }
        x[5] = Float.NEGATIVE_INFINITY;
        x[6] = -90f;
        x[7] = 95f;
        for (int round = 0; round < 2; round++) {
            float[] e = x.clone();
            float sum = fast.expInPlace(e, 1, 200, 2.5f);
            float[] s = x.clone();
            fast.swish(s, 1, 200);
            float lanes = 0f;
            for (int i = 1; i < 201; i++) {
                float want = PolyExp.exp(x[i] - 2.5f);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(e[i]), "round " + round + " exp at " + i);
                assertEquals(x[i] / (1f + PolyExp.exp(-x[i])), s[i], 0f, "round " + round + " swish at " + i);
                lanes += want;
            }
            assertEquals(lanes, sum, 1e-6f * lanes);
            assertEquals(x[0], e[0]);
            assertEquals(x[201], e[201]);
            // (from 8 on: Math.exp overflows to infinity above 88.7, the polynomial stops at e^88)
            double se = fast.sumExp(x, 8, 193, 2.5f);
            assertEquals(scalar.sumExp(x, 8, 193, 2.5f), se, 1e-6 * se);
            for (int i = 0; i < 20_000; i++) { // compile
                fast.expInPlace(x.clone(), 1, 200, 2.5f);
                fast.swish(x.clone(), 1, 200);
                fast.sumExp(x, 1, 200, 2.5f);
            }
        }
    }

    @Test
    void attentionMatchesNaiveSoftmaxAcrossTilesFromHeapAndOffHeap() {
        Random r = new Random(3);
        int hd = 24;
        int stride = 50;
        int queries = 3;
        AttentionKernel.Scratch scratch = new AttentionKernel.Scratch();
        for (Kernels kr : new Kernels[]{fast, scalar}) {
            for (int len : new int[]{1, 2, 37, AttentionKernel.BLOCK, AttentionKernel.BLOCK + 1, 200, 2000}) {
                float[] q = rand(r, queries * hd + 5);
                float[] k = rand(r, len * stride + 2);
                float[] v = rand(r, len * stride + 2);
                // a later tile with much larger scores: the running output must be rescaled
                for (int j = len / 2; j < len; j++) {
                    for (int i = 0; i < hd; i++) {
                        k[2 + j * stride + i] *= 6f;
                    }
                }
                float[] heapOut = new float[queries * (hd + 3)];
                AttentionKernel.attend(kr, q, 5, hd, queries, scratch.heap.set(k, v, 2, stride), len, hd, scratch,
                        heapOut, 3, hd + 3);
                // the same keys head-contiguous off-heap, at an offset
                float[] bufOut = new float[queries * (hd + 3)];
                try (OffHeapFloats kb = new OffHeapFloats(7 + (long) len * hd, "k");
                     OffHeapFloats vb = new OffHeapFloats(7 + (long) len * hd, "v")) {
                    for (int j = 0; j < len; j++) {
                        kb.buffer().put(7 + j * hd, k, 2 + j * stride, hd);
                        vb.buffer().put(7 + j * hd, v, 2 + j * stride, hd);
                    }
                    AttentionKernel.attend(kr, q, 5, hd, queries, scratch.offHeap.set(kb.buffer(), vb.buffer(), 7), len,
                            hd, scratch, bufOut, 3, hd + 3);
                }
                for (int qi = 0; qi < queries; qi++) {
                    float[] one = java.util.Arrays.copyOfRange(q, 5 + qi * hd, 5 + (qi + 1) * hd);
                    double[] expect = naiveAttention(one, k, v, 2, stride, len, hd);
                    for (int i = 0; i < hd; i++) {
                        int o = 3 + qi * (hd + 3) + i;
                        assertEquals(expect[i], heapOut[o], 2e-5, kr.name() + " len=" + len + " query " + qi + " dim " + i);
                        assertEquals(heapOut[o], bufOut[o], 0f, "heap and off-heap keys give the same bits");
                    }
                }
            }
        }
    }

    @Test
    void attentionOfAQueryDoesNotDependOnItsGroup() {
        Random r = new Random(5);
        int hd = 16;
        AttentionKernel.Scratch scratch = new AttentionKernel.Scratch();
        for (int len : new int[]{9, 150}) {
            float[] q = rand(r, 5 * hd);
            float[] k = rand(r, len * hd);
            float[] v = rand(r, len * hd);
            float[] group = new float[5 * hd];
            AttentionKernel.attend(fast, q, 0, hd, 5, scratch.heap.set(k, v, 0, hd), len, hd, scratch, group, 0, hd);
            for (int i = 0; i < 5; i++) {
                float[] alone = new float[hd];
                AttentionKernel.attend(fast, q, i * hd, hd, 1, scratch.heap.set(k, v, 0, hd), len, hd, scratch, alone,
                        0, hd);
                for (int j = 0; j < hd; j++) {
                    assertEquals(alone[j], group[i * hd + j], 0f, "len " + len + " query " + i);
                }
            }
        }
    }

    @Test
    void attentionScratchIsTwoTilesWhateverTheLength() {
        // 2,000 off-heap keys for 100 queries: two 64-key tiles, one score block, two floats per
        // query, and no allocation at all once compiled
        Random r = new Random(4);
        int hd = 64;
        int len = 2000;
        int queries = 100;
        float[] q = rand(r, queries * hd);
        float[] k = rand(r, len * hd);
        float[] v = rand(r, len * hd);
        float[] out = new float[queries * hd];
        AttentionKernel.Scratch scratch = new AttentionKernel.Scratch();
        try (OffHeapFloats kb = new OffHeapFloats((long) len * hd, "k");
             OffHeapFloats vb = new OffHeapFloats((long) len * hd, "v")) {
            kb.buffer().put(0, k);
            vb.buffer().put(0, v);
            Runnable run = () -> AttentionKernel.attend(fast, q, 0, hd, queries,
                    scratch.offHeap.set(kb.buffer(), vb.buffer(), 0), len, hd, scratch, out, 0, hd);
            for (int i = 0; i < 300; i++) {
                run.run();
            }
            com.sun.management.ThreadMXBean mx =
                    (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long id = Thread.currentThread().getId();
            long before = mx.getThreadAllocatedBytes(id);
            for (int i = 0; i < 10; i++) {
                run.run();
            }
            long bytes = mx.getThreadAllocatedBytes(id) - before;
            System.out.printf("attention, 2000 keys x 100 queries x 10: %d bytes allocated, scratch %d floats%n", bytes,
                    scratch.floats());
            assertTrue(bytes < 10 * len, "allocated " + bytes + " bytes for 10 calls (a score row per query would be "
                    + 10L * queries * len * 4 + ")");
            assertEquals(2 * AttentionKernel.BLOCK * hd + AttentionKernel.BLOCK + 2 * queries, scratch.floats());
        }
        for (int qi = 0; qi < queries; qi += 33) {
            double[] expect = naiveAttention(java.util.Arrays.copyOfRange(q, qi * hd, (qi + 1) * hd), k, v, 0, hd, len, hd);
            for (int i = 0; i < hd; i++) {
                assertEquals(expect[i], out[qi * hd + i], 2e-5, "query " + qi + " dim " + i);
            }
        }
    }

    private static double[] naiveAttention(float[] q, float[] k, float[] v, int off, int stride, int len, int hd) {
        double[] s = new double[len];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            for (int i = 0; i < hd; i++) {
                s[j] += (double) q[i] * k[off + j * stride + i];
            }
            max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            s[j] = Math.exp(s[j] - max);
            sum += s[j];
        }
        double[] o = new double[hd];
        for (int i = 0; i < hd; i++) {
            for (int j = 0; j < len; j++) {
                o[i] += s[j] / sum * v[off + j * stride + i];
            }
        }
        return o;
    }

    static float[] rand(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }
}
