package io.sparknmt.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD kernels on the Java Vector API (jdk.incubator.vector). Loaded only through
 * {@link KernelProvider}, so a JVM without the module never touches this class.
 *
 * <p>GEMM: weights are packed once into column panels of {@code NR = 2 * lanes} output
 * features, k-major ({@code packed[panel][kk][j]}), so the micro-kernel reads two full vectors
 * per k step and broadcasts one activation per row: an {@code MR x NR} register tile of
 * accumulators ({@link #MR}), no horizontal reductions. The k dimension is blocked by {@link #KC} so one
 * panel slice ({@code KC * NR} floats) stays in L1 while every row block streams past it.
 */
final class VectorKernels implements Kernels {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Panel width: two vectors of output features. */
    static final int NR = 2 * L;
    /**
     * Rows of the main register tile: 8 x 2 vectors (16 accumulators) uses the 32 registers of
     * AVX-512. With 16 registers (AVX2, NEON) it is 4 x 2: a 6 x 2 tile (15 live vectors) made
     * C2 spill and ran at 42% of the FMA peak on an AVX2 EPYC, 4 x 2 at 70-80% (GemmBench).
     */
    static final int MR = L >= 16 ? 8 : 4;
    /** k block: KC * NR floats of a panel fit in L1. */
    static final int KC = 256;

    @Override
    public String name() {
        return "vector(" + S.vectorBitSize() + "-bit, " + L + " lanes)";
    }

    @Override
    public PackedWeight pack(float[] w, int n, int k) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException("weight has " + w.length + " values, expected " + n + "x" + k);
        }
        int panels = (n + NR - 1) / NR;
        float[] packed = new float[Math.multiplyExact(Math.multiplyExact(panels, k), NR)];
        for (int p = 0; p < panels; p++) {
            int base = p * k * NR;
            int cols = Math.min(NR, n - p * NR);
            for (int j = 0; j < cols; j++) {
                int src = (p * NR + j) * k;
                for (int kk = 0; kk < k; kk++) {
                    packed[base + kk * NR + j] = w[src + kk];
                }
            }
        }
        return new PackedWeight(n, k, packed, NR);
    }

    @Override
    public void linear(float[] x, int xOff, int m, PackedWeight w, float[] bias, float[] y, int yOff) {
        if (w.panel() != NR) {
            throw new IllegalArgumentException("weight packed for panel " + w.panel() + ", this kernel needs " + NR);
        }
        linearPanels(x, xOff, m, w, bias, y, yOff, 0, (w.n() + NR - 1) / NR);
    }

    /** Computes the output columns of panels {@code [p0, p1)}: the unit of work for threads. */
    void linearPanels(float[] x, int xOff, int m, PackedWeight w, float[] bias, float[] y, int yOff,
                      int p0, int p1) {
        int n = w.n();
        int k = w.k();
        float[] b = w.data();
        for (int kc0 = 0; kc0 < k; kc0 += KC) {
            int kc1 = Math.min(k, kc0 + KC);
            boolean first = kc0 == 0;
            for (int p = p0; p < p1; p++) {
                int col0 = p * NR;
                int cols = Math.min(NR, n - col0);
                int bBase = p * k * NR;
                int i = 0;
                if (cols == NR) {
                    if (MR == 8) {
                        for (; i + 8 <= m; i += 8) {
                            tile8(x, xOff + i * k, k, b, bBase, kc0, kc1, bias, first, y, yOff + i * n + col0, n, col0);
                        }
                    }
                    for (; i + 4 <= m; i += 4) {
                        tile4(x, xOff + i * k, k, b, bBase, kc0, kc1, bias, first, y, yOff + i * n + col0, n, col0);
                    }
                }
                for (; i < m; i++) {
                    row1(x, xOff + i * k, b, bBase, kc0, kc1, bias, first, y, yOff + i * n + col0, col0, cols);
                }
            }
        }
    }

    /** 8 rows x NR columns, full panel. */
    private static void tile8(float[] x, int a, int k, float[] b, int bBase, int kc0, int kc1,
                              float[] bias, boolean first, float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (first) {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1;
            c40 = z0; c41 = z1; c50 = z0; c51 = z1; c60 = z0; c61 = z1; c70 = z0; c71 = z1;
        } else {
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, y, c + 4 * ldc); c41 = FloatVector.fromArray(S, y, c + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, y, c + 5 * ldc); c51 = FloatVector.fromArray(S, y, c + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, y, c + 6 * ldc); c61 = FloatVector.fromArray(S, y, c + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, y, c + 7 * ldc); c71 = FloatVector.fromArray(S, y, c + 7 * ldc + L);
        }
        int a0 = a, a1 = a + k, a2 = a + 2 * k, a3 = a + 3 * k;
        int a4 = a + 4 * k, a5 = a + 5 * k, a6 = a + 6 * k, a7 = a + 7 * k;
        for (int kk = kc0; kk < kc1; kk++) {
            int bo = bBase + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v;
            v = FloatVector.broadcast(S, x[a0 + kk]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, x[a1 + kk]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, x[a2 + kk]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, x[a3 + kk]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, x[a4 + kk]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, x[a5 + kk]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, x[a6 + kk]); c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, x[a7 + kk]); c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
        }
        c00.intoArray(y, c); c01.intoArray(y, c + L);
        c10.intoArray(y, c + ldc); c11.intoArray(y, c + ldc + L);
        c20.intoArray(y, c + 2 * ldc); c21.intoArray(y, c + 2 * ldc + L);
        c30.intoArray(y, c + 3 * ldc); c31.intoArray(y, c + 3 * ldc + L);
        c40.intoArray(y, c + 4 * ldc); c41.intoArray(y, c + 4 * ldc + L);
        c50.intoArray(y, c + 5 * ldc); c51.intoArray(y, c + 5 * ldc + L);
        c60.intoArray(y, c + 6 * ldc); c61.intoArray(y, c + 6 * ldc + L);
        c70.intoArray(y, c + 7 * ldc); c71.intoArray(y, c + 7 * ldc + L);
    }

    /** 4 rows x NR columns, full panel: the main tile with 16 registers, the row tail of tile8. */
    private static void tile4(float[] x, int a, int k, float[] b, int bBase, int kc0, int kc1,
                              float[] bias, boolean first, float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (first) {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1;
        } else {
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
        }
        int a0 = a, a1 = a + k, a2 = a + 2 * k, a3 = a + 3 * k;
        for (int kk = kc0; kk < kc1; kk++) {
            int bo = bBase + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v;
            v = FloatVector.broadcast(S, x[a0 + kk]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, x[a1 + kk]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, x[a2 + kk]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, x[a3 + kk]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        c00.intoArray(y, c); c01.intoArray(y, c + L);
        c10.intoArray(y, c + ldc); c11.intoArray(y, c + ldc + L);
        c20.intoArray(y, c + 2 * ldc); c21.intoArray(y, c + 2 * ldc + L);
        c30.intoArray(y, c + 3 * ldc); c31.intoArray(y, c + 3 * ldc + L);
    }

    /** One row x up to NR columns (tails: leftover rows, the last partial panel). */
    private static void row1(float[] x, int a, float[] b, int bBase, int kc0, int kc1,
                             float[] bias, boolean first, float[] y, int c, int col0, int cols) {
        if (cols < NR) {
            row1Partial(x, a, b, bBase, kc0, kc1, bias, first, y, c, col0, cols);
            return;
        }
        FloatVector c0, c1;
        if (first) {
            c0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            c1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
        } else {
            c0 = FloatVector.fromArray(S, y, c);
            c1 = FloatVector.fromArray(S, y, c + L);
        }
        for (int kk = kc0; kk < kc1; kk++) {
            int bo = bBase + kk * NR;
            FloatVector v = FloatVector.broadcast(S, x[a + kk]);
            c0 = v.fma(FloatVector.fromArray(S, b, bo), c0);
            c1 = v.fma(FloatVector.fromArray(S, b, bo + L), c1);
        }
        c0.intoArray(y, c);
        c1.intoArray(y, c + L);
    }

    /** The last, partial panel: the packed data is zero-padded, only bias loads and stores are masked. */
    private static void row1Partial(float[] x, int a, float[] b, int bBase, int kc0, int kc1,
                                    float[] bias, boolean first, float[] y, int c, int col0, int cols) {
        VectorMask<Float> m0 = S.indexInRange(0, cols);
        VectorMask<Float> m1 = S.indexInRange(L, cols);
        FloatVector c0, c1;
        if (first) {
            c0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0, m0);
            c1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L, m1);
        } else {
            c0 = FloatVector.fromArray(S, y, c, m0);
            c1 = FloatVector.fromArray(S, y, c + L, m1);
        }
        for (int kk = kc0; kk < kc1; kk++) {
            int bo = bBase + kk * NR;
            FloatVector v = FloatVector.broadcast(S, x[a + kk]);
            c0 = v.fma(FloatVector.fromArray(S, b, bo), c0);
            c1 = v.fma(FloatVector.fromArray(S, b, bo + L), c1);
        }
        c0.intoArray(y, c, m0);
        c1.intoArray(y, c + L, m1);
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < len; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            va.fma(FloatVector.fromArray(S, x, xOff + i), FloatVector.fromArray(S, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    @Override
    public void scale(float[] x, int off, int len, float alpha) {
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(alpha).intoArray(x, off + i);
        }
        for (; i < len; i++) {
            x[off + i] *= alpha;
        }
    }
}
