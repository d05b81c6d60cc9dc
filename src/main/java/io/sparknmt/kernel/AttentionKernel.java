package io.sparknmt.kernel;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Attention of one head, {@code out = softmax(q . K^T) . V}, for a group of query rows that see
 * the same keys (the queries of one encoder sentence, or the beams of one sentence in
 * cross-attention). Keys and values are streamed once per group, in tiles of {@link #BLOCK}
 * keys: a tile is copied from wherever the cache lives (off-heap or a strided heap array) into
 * two L1-sized heap tiles, and every query of the group is scored against it with an online
 * softmax (running maximum, running sum, and the output rescaled when a later tile raises the
 * maximum). The scratch is two tiles, one block of scores and two floats per query: no
 * {@code [queries, keys]} score matrix is ever materialized, whatever the length.
 *
 * <p>Masks are applied in the kernel by bounds: the caller passes the keys the queries may see
 * (a prefix, {@code len}), which equals adding {@code -inf} to padding and future positions.
 *
 * <p>Up to {@code BLOCK} keys take the one-tile path, which is the plain softmax (max,
 * exponentials, normalized weights) as transformers computes it. Each query's arithmetic does not
 * depend on the group it is computed in.
 */
public final class AttentionKernel {
    /** Keys per tile: a tile of 64 keys x 64 values is 16 KiB. */
    public static final int BLOCK = 64;

    private AttentionKernel() {
    }

    /** Where a group's keys and values come from: copies keys {@code [j0, j0 + n)} into tiles. */
    public interface KeyValues {
        /** Key {@code j0 + j} goes to {@code kTile[j * headDim ..]}, its value to {@code vTile[j * headDim ..]}. */
        void load(int j0, int n, int headDim, float[] kTile, float[] vTile);
    }

    /** Keys of one head in heap arrays: key {@code j} at {@code off + j * stride}. Reusable cursor. */
    public static final class HeapKeyValues implements KeyValues {
        private float[] k;
        private float[] v;
        private int off;
        private int stride;

        public HeapKeyValues set(float[] k, float[] v, int off, int stride) {
            this.k = k;
            this.v = v;
            this.off = off;
            this.stride = stride;
            return this;
        }

        @Override
        public void load(int j0, int n, int headDim, float[] kTile, float[] vTile) {
            for (int j = 0; j < n; j++) {
                int src = off + (j0 + j) * stride;
                System.arraycopy(k, src, kTile, j * headDim, headDim);
                System.arraycopy(v, src, vTile, j * headDim, headDim);
            }
        }
    }

    /** Keys of one head stored contiguously off-heap: key {@code j} at {@code off + j * headDim}. Reusable cursor. */
    public static final class BufferKeyValues implements KeyValues {
        private FloatBuffer k;
        private FloatBuffer v;
        private int off;

        public BufferKeyValues set(FloatBuffer k, FloatBuffer v, int off) {
            this.k = k;
            this.v = v;
            this.off = off;
            return this;
        }

        @Override
        public void load(int j0, int n, int headDim, float[] kTile, float[] vTile) {
            int src = off + j0 * headDim;
            k.get(src, kTile, 0, n * headDim);
            v.get(src, vTile, 0, n * headDim);
        }
    }

    /** Working memory of the kernel; grows to the largest head size and group seen, then is reused. */
    public static final class Scratch {
        float[] kTile = new float[0];
        float[] vTile = new float[0];
        final float[] scores = new float[BLOCK];
        float[] runMax = new float[0];
        float[] runSum = new float[0];
        /** Cursors for callers, so that a call allocates nothing. */
        public final HeapKeyValues heap = new HeapKeyValues();
        public final BufferKeyValues offHeap = new BufferKeyValues();

        void ensure(int headDim, int queries) {
            if (kTile.length < BLOCK * headDim) {
                kTile = new float[BLOCK * headDim];
                vTile = new float[BLOCK * headDim];
            }
            if (runMax.length < queries) {
                runMax = new float[queries];
                runSum = new float[queries];
            }
        }

        /** Floats held: two tiles, a block of scores and two per query of the largest group. */
        public int floats() {
            return kTile.length + vTile.length + scores.length + runMax.length + runSum.length;
        }
    }

    /**
     * @param q         queries, already scaled by head_dim^-0.5: query {@code i}'s head slice at
     *                  {@code qOff + i * qStride}
     * @param queries   rows in the group (>= 1)
     * @param kv        the group's keys and values
     * @param len       keys visible to the group (>= 1)
     * @param out       receives query {@code i}'s head output at {@code outOff + i * outStride}
     */
    public static void attend(Kernels kr, float[] q, int qOff, int qStride, int queries, KeyValues kv, int len,
                              int headDim, Scratch s, float[] out, int outOff, int outStride) {
        if (len <= 0) {
            throw new IllegalArgumentException("a query must see at least one key, got " + len);
        }
        s.ensure(headDim, queries);
        float[] kt = s.kTile;
        float[] vt = s.vTile;
        float[] scores = s.scores;
        if (len <= BLOCK) {
            kv.load(0, len, headDim, kt, vt);
            for (int i = 0; i < queries; i++) {
                int o = outOff + i * outStride;
                float max = scoreTile(kr, q, qOff + i * qStride, kt, len, headDim, scores);
                float inv = 1f / kr.expInPlace(scores, 0, len, max);
                Arrays.fill(out, o, o + headDim, 0f);
                for (int j = 0; j < len; j++) {
                    kr.axpy(scores[j] * inv, vt, j * headDim, out, o, headDim);
                }
            }
            return;
        }
        float[] runMax = s.runMax;
        float[] runSum = s.runSum;
        for (int i = 0; i < queries; i++) {
            runMax[i] = Float.NEGATIVE_INFINITY;
            runSum[i] = 0f;
            int o = outOff + i * outStride;
            Arrays.fill(out, o, o + headDim, 0f);
        }
        for (int j0 = 0; j0 < len; j0 += BLOCK) {
            int n = Math.min(BLOCK, len - j0);
            kv.load(j0, n, headDim, kt, vt);
            for (int i = 0; i < queries; i++) {
                int o = outOff + i * outStride;
                float tileMax = scoreTile(kr, q, qOff + i * qStride, kt, n, headDim, scores);
                if (tileMax > runMax[i]) {
                    // rescale what was accumulated under the old maximum (exp(-inf) = 0 on the first tile)
                    float c = (float) StrictMath.exp(runMax[i] - tileMax);
                    kr.scale(out, o, headDim, c);
                    runSum[i] *= c;
                    runMax[i] = tileMax;
                }
                runSum[i] += kr.expInPlace(scores, 0, n, runMax[i]);
                for (int j = 0; j < n; j++) {
                    kr.axpy(scores[j], vt, j * headDim, out, o, headDim);
                }
            }
        }
        for (int i = 0; i < queries; i++) {
            kr.scale(out, outOff + i * outStride, headDim, 1f / runSum[i]);
        }
    }

    /** Scores of the tile's {@code n} keys into {@code scores[0, n)}; returns their maximum. */
    private static float scoreTile(Kernels kr, float[] q, int qOff, float[] kTile, int n, int headDim,
                                   float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float sc = kr.dot(q, qOff, kTile, j * headDim, headDim);
            scores[j] = sc;
            max = Math.max(max, sc);
        }
        return max;
    }
}
