package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The KV cache's in-place reorder against a copy-based reference, over random row plans. */
class DecoderStateTest {
    private static final int LAYERS = 2;
    private static final int D = 8;
    private static final int HEADS = 2;

    @Test
    void inPlaceReorderEqualsCopyingEveryRow() {
        Random r = new Random(7);
        try (DecoderState st = new DecoderState(LAYERS, D, HEADS, 4, 5, new MultiHeadAttention.Scratch())) {
            for (int trial = 0; trial < 300; trial++) {
                int rows = 1 + r.nextInt(12);
                int steps = 1 + r.nextInt(6);
                EncoderOutput enc = new EncoderOutput(new float[0], rows, 1, new int[rows]);
                st.reset(enc, rows, 1 + r.nextInt(8));
                st.initRows(new int[rows]);
                st.ensureTime(steps - 1);
                for (int t = 0; t < steps; t++) {
                    st.advance();
                }
                // row r, head h, position t, dim i of layer l holds a value naming all five
                for (int l = 0; l < LAYERS; l++) {
                    fill(st, st.cacheK[l].buffer(), l, rows, steps, 0);
                    fill(st, st.cacheV[l].buffer(), l, rows, steps, 1);
                }
                int n = r.nextInt(rows + 1);
                int[] source = new int[n];
                String kind = switch (trial % 3) {
                    case 0 -> "any";          // duplicates, drops, cycles
                    case 1 -> "permutation";  // only cycles
                    default -> "beams";       // sorted by origin with repeats, as beam search makes
                };
                int[] perm = shuffled(r, rows);
                for (int i = 0; i < n; i++) {
                    source[i] = kind.equals("any") ? r.nextInt(rows)
                            : kind.equals("permutation") ? perm[i] : Math.min(rows - 1, i / 2 + r.nextInt(2));
                }
                st.reorderRows(source, n);
                assertEquals(n, st.rows());
                for (int l = 0; l < LAYERS; l++) {
                    check(st, st.cacheK[l].buffer(), l, source, n, steps, 0, kind);
                    check(st, st.cacheV[l].buffer(), l, source, n, steps, 1, kind);
                }
            }
        }
    }

    @Test
    void aRowOutsideTheActiveOnesIsRefused() {
        try (DecoderState st = new DecoderState(LAYERS, D, HEADS, 4, 5, new MultiHeadAttention.Scratch())) {
            st.reset(new EncoderOutput(new float[0], 3, 1, new int[3]), 3, 4);
            st.initRows(new int[]{0, 1, 2});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> st.reorderRows(new int[]{0, 3}, 2));
            assertEquals("row 1 takes row 3 of 3", e.getMessage());
        }
    }

    @Test
    void cachesGrowAndKeepWhatWasWritten() {
        try (DecoderState st = new DecoderState(LAYERS, D, HEADS, 4, 5, new MultiHeadAttention.Scratch())) {
            st.reset(new EncoderOutput(new float[0], 3, 1, new int[3]), 3, 2);
            st.initRows(new int[]{0, 1, 2});
            st.advance();
            st.advance();
            for (int l = 0; l < LAYERS; l++) {
                fill(st, st.cacheK[l].buffer(), l, 3, 2, 0);
            }
            st.ensureTime(2); // doubles the time capacity: every (row, head) moves
            assertEquals(4, st.timeCapacity());
            for (int l = 0; l < LAYERS; l++) {
                check(st, st.cacheK[l].buffer(), l, new int[]{0, 1, 2}, 3, 2, 0, "identity");
            }
        }
    }

    @Test
    void aGrownCacheHoldsOnlyTheRowsStillActive() {
        try (DecoderState st = new DecoderState(LAYERS, D, HEADS, 4, 5, new MultiHeadAttention.Scratch())) {
            st.reset(new EncoderOutput(new float[0], 8, 1, new int[8]), 8, 2);
            st.initRows(new int[]{0, 1, 2, 3, 4, 5, 6, 7});
            st.advance();
            st.advance();
            for (int l = 0; l < LAYERS; l++) {
                fill(st, st.cacheK[l].buffer(), l, 8, 2, 0);
            }
            st.reorderRows(new int[]{6, 3}, 2); // six of the eight rows finished
            st.ensureTime(2);
            assertEquals(4, st.timeCapacity());
            for (int l = 0; l < LAYERS; l++) {
                assertEquals(2L * 4 * D, st.cacheK[l].capacity(), "layer " + l + ": two rows of four positions");
                check(st, st.cacheK[l].buffer(), l, new int[]{6, 3}, 2, 2, 0, "after the drop");
            }
        }
    }

    private static float value(int l, int row, int h, int t, int i, int kv) {
        return ((((l * 16 + row) * 4 + h) * 16 + t) * 16 + i) * 2 + kv;
    }

    private static void fill(DecoderState st, FloatBuffer b, int l, int rows, int steps, int kv) {
        int hd = D / HEADS;
        for (int row = 0; row < rows; row++) {
            for (int h = 0; h < HEADS; h++) {
                for (int t = 0; t < steps; t++) {
                    for (int i = 0; i < hd; i++) {
                        b.put(st.cacheOffset(row, h) + t * hd + i, value(l, row, h, t, i, kv));
                    }
                }
            }
        }
    }

    private static void check(DecoderState st, FloatBuffer b, int l, int[] source, int n, int steps, int kv,
                              String kind) {
        int hd = D / HEADS;
        for (int row = 0; row < n; row++) {
            for (int h = 0; h < HEADS; h++) {
                for (int t = 0; t < steps; t++) {
                    for (int i = 0; i < hd; i++) {
                        assertEquals(value(l, source[row], h, t, i, kv), b.get(st.cacheOffset(row, h) + t * hd + i), 0f,
                                kind + " plan " + java.util.Arrays.toString(source) + ": row " + row + " head " + h
                                        + " t " + t);
                    }
                }
            }
        }
    }

    private static int[] shuffled(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int x = p[i];
            p[i] = p[j];
            p[j] = x;
        }
        return p;
    }

}
