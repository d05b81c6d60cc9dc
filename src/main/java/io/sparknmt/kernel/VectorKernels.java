package io.sparknmt.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD kernels on the Java Vector API (jdk.incubator.vector). Loaded only through
 * {@link KernelProvider}, so a JVM without the module never touches this class.
 *
 * <p>GEMM: weights are packed once into column panels of {@code NR = 2 * lanes} output
 * features, k-major ({@code packed[panel][kk][j]}), so the micro-kernel reads two full vectors
 * per k step and broadcasts one activation per row: an {@code MR x NR} register tile of
 * accumulators ({@link #MR}), no horizontal reductions. Activation rows are packed per call
 * into {@code [tile][kk][MR]} blocks that fit in L2 (one sequential stream per tile instead of MR
 * rows whose power-of-two strides collide in the same L1 sets), and a tile runs over the whole k
 * dimension in registers, so C is written once. Measured on an AVX2 EPYC against the earlier
 * layout (row-major A, k blocked by 256 with C reloaded between blocks), in one JVM and
 * alternating: faster on every decoder shape, e.g. 32x2048x512 from 64 to 77 GFLOP/s and
 * 128x512x58101 (the beam-4 output projection) from 46 to 53-72.
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

    /** bf16 panels: L int lanes, each two bfloat16 values. */
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, S.vectorShape());
    /** int8 panels: L bytes, widened to one float vector (none below 64-bit byte vectors: the scalar twin runs). */
    private static final VectorSpecies<Byte> BS = L * 8 >= 64 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;

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
        return new PackedWeight.FloatPanels(n, k, packed, NR);
    }

    @Override
    public PackedWeight pack(float[] w, int n, int k, WeightFormat format) {
        return switch (format) {
            case BF16 -> Bf16.pack(w, n, k, NR);
            case INT8 -> Int8Kernels.pack(w, n, k, NR);
            case FLOAT -> pack(w, n, k);
        };
    }

    @Override
    public void linear(float[] x, int xOff, int m, PackedWeight weight, float[] bias, float[] y, int yOff) {
        if (weight instanceof PackedWeight.Int8Panels q && BS == null) {
            Int8Kernels.linearRows(x, xOff, m, q, bias, y, yOff);
            return;
        }
        if (weight instanceof PackedWeight.Bf16Panels || weight instanceof PackedWeight.Int8Panels) {
            int panel = weight instanceof PackedWeight.Bf16Panels h ? h.panel() : ((PackedWeight.Int8Panels) weight).panel();
            if (panel != NR) {
                throw new IllegalArgumentException(weight.getClass().getSimpleName() + " packed for panel " + panel
                        + ", this kernel needs " + NR);
            }
            int panels = (weight.n() + NR - 1) / NR;
            KernelThreads group = KernelThreads.group();
            if (group != null && (long) m * weight.n() * weight.k() >= KernelThreads.MIN_PARALLEL_MACS && panels > 1) {
                group.linear(this, x, xOff, m, weight, bias, y, yOff, panels);
            } else {
                linearPanels(x, xOff, m, weight, bias, y, yOff, 0, panels);
            }
            return;
        }
        if (!(weight instanceof PackedWeight.FloatPanels w)) {
            throw new IllegalArgumentException("no " + name() + " kernel for weights of kind " + weight.getClass().getSimpleName());
        }
        if (w.panel() != NR) {
            throw new IllegalArgumentException("weight packed for panel " + w.panel() + ", this kernel needs " + NR);
        }
        int panels = (w.n() + NR - 1) / NR;
        KernelThreads group = KernelThreads.group();
        if (group != null && (long) m * w.n() * w.k() >= KernelThreads.MIN_PARALLEL_MACS && panels > 1) {
            group.linear(this, x, xOff, m, w, bias, y, yOff, panels);
        } else {
            linearPanels(x, xOff, m, w, bias, y, yOff, 0, panels);
        }
    }

    /**
     * Per-thread buffers: [0] packed activation rows (A), reused and grown only for a larger
     * block; [1] one panel row for the last, partial panel; [2] an int8 panel widened to floats.
     */
    private static final ThreadLocal<float[][]> A_PACK =
            ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[NR], new float[0]});

    /**
     * Rows of a panel per block of the inner dimension: KC x NR floats are 32 KiB, within the L1
     * of current x86 cores (48 KiB on Intel since Ice Lake, 32 KiB on AMD Zen), while a whole
     * opus-mt panel (512 x 32 floats with AVX-512) is 64 KiB. Measured (GemmBench, 1 thread, Intel
     * Xeon with AVX-512, Java 17, 2026-12-02): float 512^3 from 66-75 to 113 GFLOP/s, int8 at
     * 32 x 512 x 58,101 from 61-67 to 100, with the same values.
     */
    static final int KC = Math.max(16, 8192 / NR);

    /** Floats of one packed A block (256 KiB: half an L2 of current x86 cores). */
    static final int A_BLOCK_FLOATS = 64 * 1024;

    /**
     * Computes the output columns of panels {@code [p0, p1)}: the unit of work for threads. Float
     * panels, or bf16 panels ({@link Bf16}), whose tiles widen each int of a panel row into the two
     * float vectors of its features: the same blocking and the same FMA chain as
     * {@link Bf16#linearRows}, their scalar twin. Rows are taken in blocks whose packed copy fits in L2; within a block, each panel (k x NR
     * floats, in L1/L2) is read by every MR-row tile of the block. Rows left over after the last
     * full tile, and the last partial panel, go through the one-row kernel. Every output value is the same FMA chain
     * (bias, then k in order) whichever path computes it, so results do not depend on the batch.
     */
    void linearPanels(float[] x, int xOff, int m, PackedWeight w, float[] bias, float[] y, int yOff,
                      int p0, int p1) {
        int n = w.n();
        int k = w.k();
        // float panels, bf16 panels ({@link Bf16}: two values per int, widened in the tile) or
        // int8 panels ({@link Int8Kernels}: one byte per value, widened in the tile, scaled after)
        float[] b = w instanceof PackedWeight.FloatPanels f ? f.data() : null;
        int[] h = w instanceof PackedWeight.Bf16Panels hw ? hw.data() : null;
        byte[] q = w instanceof PackedWeight.Int8Panels qw ? qw.data() : null;
        float[] qs = q != null ? ((PackedWeight.Int8Panels) w).scales() : null;
        int panelInts = h != null ? k * L : k * NR;  // ints, floats or bytes per panel
        int tiles = m / MR;
        int mcTiles = Math.max(1, A_BLOCK_FLOATS / (k * MR));
        float[][] holder = A_PACK.get();
        for (int t0 = 0; t0 < tiles; t0 += mcTiles) {
            int t1 = Math.min(tiles, t0 + mcTiles);
            float[] a = holder[0];
            int need = (t1 - t0) * MR * k;
            if (a.length < need) {
                a = new float[need];
                holder[0] = a;
            }
            packRows(x, xOff + t0 * MR * k, t1 - t0, k, a);
            for (int p = p0; p < p1; p++) {
                int col0 = p * NR;
                int cols = Math.min(NR, n - col0);
                int bBase = p * panelInts;
                if (cols < NR) {
                    for (int i = t0 * MR; i < t1 * MR; i++) {
                        row(x, xOff + i * k, b, h, q, qs, bBase, k, bias, y, yOff + i * n + col0, col0, cols, holder[1]);
                    }
                    continue;
                }
                if (q != null && t1 - t0 < 2) {
                    // one tile: widening its bytes in the tile costs no more than widening them once
                    for (int t = t0; t < t1; t++) {
                        int c = yOff + t * MR * n + col0;
                        if (MR == 8) {
                            tile8q(a, (t - t0) * MR * k, q, bBase, k, qs, bias, y, c, n, col0);
                        } else {
                            tile4q(a, (t - t0) * MR * k, q, bBase, k, qs, bias, y, c, n, col0);
                        }
                    }
                    continue;
                }
                // The panel in blocks of KC rows, each in L1 while every tile of the row block
                // reads it; a tile stores its sums after one block and resumes from them in the
                // next, so each value is still one FMA chain over k in order. int8 panels are
                // widened a block at a time into a float block that the float tiles read from
                // zero, and their sums scaled after the last block: the chains of tile8q.
                for (int k0 = 0; k0 < k; k0 += KC) {
                    int kc = Math.min(KC, k - k0);
                    boolean resume = k0 > 0;
                    float[] wide = null;
                    if (q != null) {
                        wide = holder[2].length >= kc * NR ? holder[2] : (holder[2] = new float[KC * NR]);
                        widenPanel(q, bBase + k0 * NR, kc, wide);
                    }
                    for (int t = t0; t < t1; t++) {
                        int c = yOff + t * MR * n + col0;
                        int aBase = (t - t0) * MR * k + k0 * MR;
                        if (wide != null) {
                            if (MR == 8) {
                                tile8(a, aBase, wide, 0, kc, null, resume, y, c, n, col0);
                            } else {
                                tile4(a, aBase, wide, 0, kc, null, resume, y, c, n, col0);
                            }
                        } else if (h != null) {
                            int hb = bBase + k0 * L;
                            if (MR == 8) {
                                tile8h(a, aBase, h, hb, kc, bias, resume, y, c, n, col0);
                            } else {
                                tile4h(a, aBase, h, hb, kc, bias, resume, y, c, n, col0);
                            }
                        } else if (MR == 8) {
                            tile8(a, aBase, b, bBase + k0 * NR, kc, bias, resume, y, c, n, col0);
                        } else {
                            tile4(a, aBase, b, bBase + k0 * NR, kc, bias, resume, y, c, n, col0);
                        }
                    }
                }
                if (q != null) {
                    for (int t = t0; t < t1; t++) {
                        scaleTile(y, yOff + t * MR * n + col0, n, qs, bias, col0);
                    }
                }
            }
        }
        for (int i = tiles * MR; i < m; i++) {
            for (int p = p0; p < p1; p++) {
                int col0 = p * NR;
                row(x, xOff + i * k, b, h, q, qs, p * panelInts, k, bias, y, yOff + i * n + col0, col0,
                        Math.min(NR, n - col0), holder[1]);
            }
        }
    }

    /**
     * The one-row kernel of float panels {@code b} or, when {@code h} is not null, of bf16 panels
     * {@code h}, or, when {@code q} is not null, of int8 panels {@code q} with scales {@code qs}.
     */
    private static void row(float[] x, int a, float[] b, int[] h, byte[] q, float[] qs, int bBase, int k, float[] bias,
                            float[] y, int c, int col0, int cols, float[] tmp) {
        if (q != null) {
            row1q(x, a, q, qs, bBase, k, bias, y, c, col0, cols, tmp);
        } else if (h != null) {
            row1h(x, a, h, bBase, k, bias, y, c, col0, cols, tmp);
        } else {
            row1(x, a, b, bBase, k, bias, y, c, col0, cols, tmp);
        }
    }

    /** {@link #row1} over a bf16 panel (zero-padded past {@code n}, as the float panels are). */
    private static void row1h(float[] x, int a, int[] b, int bBase, int k, float[] bias, float[] y, int c,
                              int col0, int cols, float[] tmp) {
        boolean partial = cols < NR;
        FloatVector c0;
        FloatVector c1;
        if (partial) {
            java.util.Arrays.fill(tmp, 0, NR, 0f);
            if (bias != null) {
                System.arraycopy(bias, col0, tmp, 0, cols);
            }
            c0 = FloatVector.fromArray(S, tmp, 0);
            c1 = FloatVector.fromArray(S, tmp, L);
        } else {
            c0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            c1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
        }
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, bo += L) {
            FloatVector v = FloatVector.broadcast(S, x[a + kk]);
            IntVector h = IntVector.fromArray(IS, b, bo);
            c0 = v.fma(h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), c0);
            c1 = v.fma(h.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), c1);
        }
        if (partial) {
            c0.intoArray(tmp, 0);
            c1.intoArray(tmp, L);
            System.arraycopy(tmp, 0, y, c, cols);
        } else {
            c0.intoArray(y, c);
            c1.intoArray(y, c + L);
        }
    }

    /** {@link #tile4} over a bf16 panel: one int vector load gives the panel row's two float vectors. */
    private static void tile4h(float[] a, int aBase, int[] b, int bBase, int k, float[] bias, boolean resume,
                              float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (resume) { // a later block of k: each chain goes on from the sum stored after the block before
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
        } else {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1;
        }
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 4, bo += L) {
            IntVector h = IntVector.fromArray(IS, b, bo);
            FloatVector b0 = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = h.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        c00.intoArray(y, c); c01.intoArray(y, c + L);
        c10.intoArray(y, c + ldc); c11.intoArray(y, c + ldc + L);
        c20.intoArray(y, c + 2 * ldc); c21.intoArray(y, c + 2 * ldc + L);
        c30.intoArray(y, c + 3 * ldc); c31.intoArray(y, c + 3 * ldc + L);
    }

    /** {@link #tile8} over a bf16 panel. */
    private static void tile8h(float[] a, int aBase, int[] b, int bBase, int k, float[] bias, boolean resume,
                              float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (resume) { // a later block of k: each chain goes on from the sum stored after the block before
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, y, c + 4 * ldc); c41 = FloatVector.fromArray(S, y, c + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, y, c + 5 * ldc); c51 = FloatVector.fromArray(S, y, c + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, y, c + 6 * ldc); c61 = FloatVector.fromArray(S, y, c + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, y, c + 7 * ldc); c71 = FloatVector.fromArray(S, y, c + 7 * ldc + L);
        } else {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1; c40 = z0; c41 = z1; c50 = z0; c51 = z1; c60 = z0; c61 = z1; c70 = z0; c71 = z1;
        }
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 8, bo += L) {
            IntVector h = IntVector.fromArray(IS, b, bo);
            FloatVector b0 = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = h.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ai + 4]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ai + 5]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, a[ai + 6]); c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, a[ai + 7]); c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
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

    /** Panel row {@code bo} of an int8 panel, features {@code [half * L, half * L + L)}, widened to floats. */
    private static FloatVector widen(byte[] b, int bo, int half) {
        return (FloatVector) ByteVector.fromArray(BS, b, bo + half * L).convertShape(VectorOperators.B2F, S, 0);
    }

    /** An int8 value's output: {@code sum * scale + bias} in one rounding ({@link Int8Kernels#output}). */
    private static FloatVector scaled(FloatVector sum, FloatVector scale, FloatVector bias) {
        return bias == null ? sum.mul(scale) : sum.fma(scale, bias);
    }

    /** Widens int8 panel {@code bBase} ({@code k} rows of NR bytes) into {@code dst} as floats. */
    private static void widenPanel(byte[] b, int bBase, int k, float[] dst) {
        for (int kk = 0, bo = bBase; kk < k; kk++, bo += NR) {
            widen(b, bo, 0).intoArray(dst, kk * NR);
            widen(b, bo, 1).intoArray(dst, kk * NR + L);
        }
    }

    /** Scales the MR x NR sums of a full tile at {@code c} in place: {@link #scaled}. */
    private static void scaleTile(float[] y, int c, int ldc, float[] qs, float[] bias, int col0) {
        FloatVector s0 = FloatVector.fromArray(S, qs, col0);
        FloatVector s1 = FloatVector.fromArray(S, qs, col0 + L);
        FloatVector z0 = bias == null ? null : FloatVector.fromArray(S, bias, col0);
        FloatVector z1 = bias == null ? null : FloatVector.fromArray(S, bias, col0 + L);
        for (int r = 0, o = c; r < MR; r++, o += ldc) {
            scaled(FloatVector.fromArray(S, y, o), s0, z0).intoArray(y, o);
            scaled(FloatVector.fromArray(S, y, o + L), s1, z1).intoArray(y, o + L);
        }
    }

    /** {@link #row1} over an int8 panel: sums from zero, then {@link #scaled} (zero-padded past {@code n}). */
    private static void row1q(float[] x, int a, byte[] b, float[] qs, int bBase, int k, float[] bias, float[] y, int c,
                              int col0, int cols, float[] tmp) {
        boolean partial = cols < NR;
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, bo += NR) {
            FloatVector v = FloatVector.broadcast(S, x[a + kk]);
            c0 = v.fma(widen(b, bo, 0), c0);
            c1 = v.fma(widen(b, bo, 1), c1);
        }
        // the scales are padded to whole panels; the bias is not
        FloatVector s0 = FloatVector.fromArray(S, qs, col0);
        FloatVector s1 = FloatVector.fromArray(S, qs, col0 + L);
        FloatVector z0 = null;
        FloatVector z1 = null;
        if (bias != null) {
            if (partial) {
                java.util.Arrays.fill(tmp, 0, NR, 0f);
                System.arraycopy(bias, col0, tmp, 0, cols);
                z0 = FloatVector.fromArray(S, tmp, 0);
                z1 = FloatVector.fromArray(S, tmp, L);
            } else {
                z0 = FloatVector.fromArray(S, bias, col0);
                z1 = FloatVector.fromArray(S, bias, col0 + L);
            }
        }
        c0 = scaled(c0, s0, z0);
        c1 = scaled(c1, s1, z1);
        if (partial) {
            c0.intoArray(tmp, 0);
            c1.intoArray(tmp, L);
            System.arraycopy(tmp, 0, y, c, cols);
        } else {
            c0.intoArray(y, c);
            c1.intoArray(y, c + L);
        }
    }

    /** {@link #tile4} over an int8 panel: two byte loads widened to the panel row's two float vectors. */
    private static void tile4q(float[] a, int aBase, byte[] b, int bBase, int k, float[] qs, float[] bias,
                               float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        c00 = FloatVector.zero(S); c01 = c00; c10 = c00; c11 = c00; c20 = c00; c21 = c00; c30 = c00; c31 = c00;
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 4, bo += NR) {
            FloatVector b0 = widen(b, bo, 0);
            FloatVector b1 = widen(b, bo, 1);
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        FloatVector s0 = FloatVector.fromArray(S, qs, col0);
        FloatVector s1 = FloatVector.fromArray(S, qs, col0 + L);
        FloatVector z0 = bias == null ? null : FloatVector.fromArray(S, bias, col0);
        FloatVector z1 = bias == null ? null : FloatVector.fromArray(S, bias, col0 + L);
        scaled(c00, s0, z0).intoArray(y, c); scaled(c01, s1, z1).intoArray(y, c + L);
        scaled(c10, s0, z0).intoArray(y, c + ldc); scaled(c11, s1, z1).intoArray(y, c + ldc + L);
        scaled(c20, s0, z0).intoArray(y, c + 2 * ldc); scaled(c21, s1, z1).intoArray(y, c + 2 * ldc + L);
        scaled(c30, s0, z0).intoArray(y, c + 3 * ldc); scaled(c31, s1, z1).intoArray(y, c + 3 * ldc + L);
    }

    /** {@link #tile8} over an int8 panel. */
    private static void tile8q(float[] a, int aBase, byte[] b, int bBase, int k, float[] qs, float[] bias,
                               float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        c00 = FloatVector.zero(S); c01 = c00; c10 = c00; c11 = c00; c20 = c00; c21 = c00; c30 = c00; c31 = c00;
        c40 = c00; c41 = c00; c50 = c00; c51 = c00; c60 = c00; c61 = c00; c70 = c00; c71 = c00;
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 8, bo += NR) {
            FloatVector b0 = widen(b, bo, 0);
            FloatVector b1 = widen(b, bo, 1);
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ai + 4]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ai + 5]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, a[ai + 6]); c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, a[ai + 7]); c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
        }
        FloatVector s0 = FloatVector.fromArray(S, qs, col0);
        FloatVector s1 = FloatVector.fromArray(S, qs, col0 + L);
        FloatVector z0 = bias == null ? null : FloatVector.fromArray(S, bias, col0);
        FloatVector z1 = bias == null ? null : FloatVector.fromArray(S, bias, col0 + L);
        scaled(c00, s0, z0).intoArray(y, c); scaled(c01, s1, z1).intoArray(y, c + L);
        scaled(c10, s0, z0).intoArray(y, c + ldc); scaled(c11, s1, z1).intoArray(y, c + ldc + L);
        scaled(c20, s0, z0).intoArray(y, c + 2 * ldc); scaled(c21, s1, z1).intoArray(y, c + 2 * ldc + L);
        scaled(c30, s0, z0).intoArray(y, c + 3 * ldc); scaled(c31, s1, z1).intoArray(y, c + 3 * ldc + L);
        scaled(c40, s0, z0).intoArray(y, c + 4 * ldc); scaled(c41, s1, z1).intoArray(y, c + 4 * ldc + L);
        scaled(c50, s0, z0).intoArray(y, c + 5 * ldc); scaled(c51, s1, z1).intoArray(y, c + 5 * ldc + L);
        scaled(c60, s0, z0).intoArray(y, c + 6 * ldc); scaled(c61, s1, z1).intoArray(y, c + 6 * ldc + L);
        scaled(c70, s0, z0).intoArray(y, c + 7 * ldc); scaled(c71, s1, z1).intoArray(y, c + 7 * ldc + L);
    }

    /** Copies {@code tiles * MR} rows of x into {@code a} as {@code [tile][kk][MR]}: one stream per tile. */
    private static void packRows(float[] x, int xOff, int tiles, int k, float[] a) {
        for (int t = 0; t < tiles; t++) {
            int dst = t * MR * k;
            int src = xOff + t * MR * k;
            for (int r = 0; r < MR; r++) {
                int s = src + r * k;
                for (int kk = 0; kk < k; kk++) {
                    a[dst + kk * MR + r] = x[s + kk];
                }
            }
        }
    }

    /** 4 packed rows x NR columns, full panel: the main tile with 16 registers. */
    private static void tile4(float[] a, int aBase, float[] b, int bBase, int k, float[] bias, boolean resume,
                              float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (resume) { // a later block of k: each chain goes on from the sum stored after the block before
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
        } else {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1;
        }
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 4, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        c00.intoArray(y, c); c01.intoArray(y, c + L);
        c10.intoArray(y, c + ldc); c11.intoArray(y, c + ldc + L);
        c20.intoArray(y, c + 2 * ldc); c21.intoArray(y, c + 2 * ldc + L);
        c30.intoArray(y, c + 3 * ldc); c31.intoArray(y, c + 3 * ldc + L);
    }

    /** 8 packed rows x NR columns, full panel: the main tile with 32 registers. */
    private static void tile8(float[] a, int aBase, float[] b, int bBase, int k, float[] bias, boolean resume,
                              float[] y, int c, int ldc, int col0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (resume) { // a later block of k: each chain goes on from the sum stored after the block before
            c00 = FloatVector.fromArray(S, y, c); c01 = FloatVector.fromArray(S, y, c + L);
            c10 = FloatVector.fromArray(S, y, c + ldc); c11 = FloatVector.fromArray(S, y, c + ldc + L);
            c20 = FloatVector.fromArray(S, y, c + 2 * ldc); c21 = FloatVector.fromArray(S, y, c + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, y, c + 3 * ldc); c31 = FloatVector.fromArray(S, y, c + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, y, c + 4 * ldc); c41 = FloatVector.fromArray(S, y, c + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, y, c + 5 * ldc); c51 = FloatVector.fromArray(S, y, c + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, y, c + 6 * ldc); c61 = FloatVector.fromArray(S, y, c + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, y, c + 7 * ldc); c71 = FloatVector.fromArray(S, y, c + 7 * ldc + L);
        } else {
            FloatVector z0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            FloatVector z1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
            c00 = z0; c01 = z1; c10 = z0; c11 = z1; c20 = z0; c21 = z1; c30 = z0; c31 = z1; c40 = z0; c41 = z1; c50 = z0; c51 = z1; c60 = z0; c61 = z1; c70 = z0; c71 = z1;
        }
        int ai = aBase;
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, ai += 8, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v;
            v = FloatVector.broadcast(S, a[ai]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ai + 1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ai + 2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ai + 3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ai + 4]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ai + 5]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, a[ai + 6]); c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, a[ai + 7]); c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
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

    /**
     * One row x up to NR columns, read from the unpacked activations: the rows left over after the
     * last full tile, and the last, partial panel (zero-padded in the packed data). A partial
     * panel's bias and result go through {@code tmp} (NR floats): masked loads and stores are not
     * intrinsified for AVX2 on Java 17, and their boxed vectors would allocate on every call.
     */
    private static void row1(float[] x, int a, float[] b, int bBase, int k, float[] bias, float[] y, int c,
                             int col0, int cols, float[] tmp) {
        boolean partial = cols < NR;
        FloatVector c0;
        FloatVector c1;
        if (partial) {
            java.util.Arrays.fill(tmp, 0, NR, 0f);
            if (bias != null) {
                System.arraycopy(bias, col0, tmp, 0, cols);
            }
            c0 = FloatVector.fromArray(S, tmp, 0);
            c1 = FloatVector.fromArray(S, tmp, L);
        } else {
            c0 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0);
            c1 = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, col0 + L);
        }
        int bo = bBase;
        for (int kk = 0; kk < k; kk++, bo += NR) {
            FloatVector v = FloatVector.broadcast(S, x[a + kk]);
            c0 = v.fma(FloatVector.fromArray(S, b, bo), c0);
            c1 = v.fma(FloatVector.fromArray(S, b, bo + L), c1);
        }
        if (partial) {
            c0.intoArray(tmp, 0);
            c1.intoArray(tmp, L);
            System.arraycopy(tmp, 0, y, c, cols);
        } else {
            c0.intoArray(y, c);
            c1.intoArray(y, c + L);
        }
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        // lanes added in index order: reduceLanes(ADD) leaves the order open, so its compiled form
        // may add them in another order than the interpreter (OtherJdkIT checks the result)
        float sum = 0f;
        for (int j = 0; j < L; j++) {
            sum += acc.lane(j);
        }
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

    @Override
    public float max(float[] x, int off, int len) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            acc = acc.max(FloatVector.fromArray(S, x, off + i));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < len; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    @Override
    public int argmax(float[] x, int off, int len) {
        float m = max(x, off, len);
        int bound = S.loopBound(len);
        for (int i = 0; i < bound; i += L) {
            if (FloatVector.fromArray(S, x, off + i).eq(m).anyTrue()) {
                for (int j = i; ; j++) {
                    if (x[off + j] == m) {
                        return j;
                    }
                }
            }
        }
        for (int i = bound; i < len; i++) {
            if (x[off + i] == m) {
                return i;
            }
        }
        return 0; // all NaN: torch would return a NaN's index; no finite maximum exists
    }

    /*
     * The exponentials below are PolyExp's sequence on vectors, not the Vector API's lanewise
     * EXP: that one is SVML in C2-compiled code and a different routine before compilation, so
     * its last bits depend on the JIT state (a cluster run once scored a sentence 1e-8 differently
     * from a local run). PolyExp uses exact operations only: the same bits in every tier, and the
     * same bits as PolyExp.exp for the tails. The exponentials' sums are taken lane by lane and the
     * lanes added in a fixed order.
     */
    private static final jdk.incubator.vector.VectorSpecies<Integer> SI = S.vectorShape().withLanes(int.class);

    static FloatVector exp(FloatVector x) {
        var under = x.compare(VectorOperators.LT, PolyExp.LO);
        FloatVector c = x.min(PolyExp.HI).max(PolyExp.LO);
        FloatVector t = c.lanewise(VectorOperators.FMA, PolyExp.LOG2E, PolyExp.MAGIC);
        FloatVector n = t.sub(PolyExp.MAGIC);
        FloatVector r = n.lanewise(VectorOperators.FMA, -PolyExp.LN2_HI, c);
        r = n.lanewise(VectorOperators.FMA, -PolyExp.LN2_LO, r);
        FloatVector p = r.lanewise(VectorOperators.FMA, PolyExp.P0, PolyExp.P1); // P0 * r + P1
        p = p.lanewise(VectorOperators.FMA, r, FloatVector.broadcast(S, PolyExp.P2));
        p = p.lanewise(VectorOperators.FMA, r, FloatVector.broadcast(S, PolyExp.P3));
        p = p.lanewise(VectorOperators.FMA, r, FloatVector.broadcast(S, PolyExp.P4));
        p = p.lanewise(VectorOperators.FMA, r, FloatVector.broadcast(S, PolyExp.P5));
        p = p.lanewise(VectorOperators.FMA, r.mul(r), r).add(1f);
        FloatVector scale = ((jdk.incubator.vector.IntVector) t.reinterpretAsInts())
                .sub(PolyExp.MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale).blend(0f, under);
    }

    @Override
    public double sumExp(float[] x, int off, int len, float shift) {
        // lane j accumulates terms j, j + L, ... in double; lanes are then added in order
        double[] acc = LANE_SUMS.get();
        java.util.Arrays.fill(acc, 0.0);
        float[] e = LANE_TMP.get();
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            exp(FloatVector.fromArray(S, x, off + i).sub(shift)).intoArray(e, 0);
            for (int j = 0; j < L; j++) {
                acc[j] += e[j];
            }
        }
        for (; i < len; i++) {
            acc[i % L] += PolyExp.exp(x[off + i] - shift);
        }
        double sum = 0;
        for (int j = 0; j < L; j++) {
            sum += acc[j];
        }
        return sum;
    }

    private static final ThreadLocal<double[]> LANE_SUMS = ThreadLocal.withInitial(() -> new double[L]);
    private static final ThreadLocal<float[]> LANE_TMP = ThreadLocal.withInitial(() -> new float[L]);

    @Override
    public void add(float[] x, int off, int len, float c) {
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, off + i).add(c).intoArray(x, off + i);
        }
        for (; i < len; i++) {
            x[off + i] += c;
        }
    }

    @Override
    public void swish(float[] x, int off, int len) {
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, off + i);
            v.div(exp(v.neg()).add(1f)).intoArray(x, off + i);
        }
        for (; i < len; i++) {
            float v = x[off + i];
            x[off + i] = v / (1f + PolyExp.exp(-v));
        }
    }

    @Override
    public int nextAbove(float[] x, int from, int to, float add, float threshold) {
        int i = from;
        int bound = from + S.loopBound(to - from);
        for (; i < bound; i += L) {
            if (FloatVector.fromArray(S, x, i).add(add).compare(VectorOperators.GT, threshold).anyTrue()) {
                break;
            }
        }
        for (; i < to; i++) {
            if (x[i] + add > threshold) {
                return i;
            }
        }
        return to;
    }

    @Override
    public float expInPlace(float[] x, int off, int len, float shift) {
        // lane j accumulates terms j, j + L, ... in float; lanes are then added in order
        float[] acc = LANE_TMP.get();
        FloatVector sums = FloatVector.zero(S);
        int i = 0;
        int bound = S.loopBound(len);
        for (; i < bound; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(shift));
            e.intoArray(x, off + i);
            sums = sums.add(e);
        }
        sums.intoArray(acc, 0);
        for (; i < len; i++) {
            float e = PolyExp.exp(x[off + i] - shift);
            x[off + i] = e;
            acc[i % L] += e;
        }
        float sum = 0f;
        for (int j = 0; j < L; j++) {
            sum += acc[j];
        }
        return sum;
    }
}
