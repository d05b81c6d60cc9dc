package io.sparknmt.model;

import java.io.Serializable;

/**
 * A positional table {@code [positions, d]}: either the one a checkpoint stores (read whole, as
 * the file holds it) or Marian's sinusoids, computed lazily up to the longest position used so
 * far. A config's {@code max_position_embeddings} then costs nothing until a sentence that long
 * comes: nothing is allocated for positions no input reaches (a 16384-position, 1024-wide table
 * would be 64 MB per copy, and every executor would hold it). Thread-safe: rows are only ever
 * appended, and readers get an array that already holds the rows they asked for.
 */
public final class PositionTable implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int FIRST_ROWS = 64;

    private final int maxPositions;
    private final int d;
    private final boolean stored;
    private volatile float[] table; // [rows built, d]

    private PositionTable(int maxPositions, int d, float[] table, boolean stored) {
        this.maxPositions = maxPositions;
        this.d = d;
        this.table = table;
        this.stored = stored;
    }

    /** The checkpoint's own table ({@code [maxPositions, d]}). */
    public static PositionTable stored(float[] table, int maxPositions, int d) {
        if (table.length != (long) maxPositions * d) {
            throw new IllegalArgumentException("positional table of " + table.length + " floats, expected "
                    + maxPositions + " x " + d);
        }
        return new PositionTable(maxPositions, d, table, true);
    }

    /** Sinusoids for up to {@code maxPositions} positions, none computed yet. */
    public static PositionTable sinusoidal(int maxPositions, int d) {
        return new PositionTable(maxPositions, d, new float[0], false);
    }

    /** Rows built so far (all of them for a stored table). */
    public int rowsBuilt() {
        return table.length / d;
    }

    /**
     * An array holding at least rows {@code [0, positions)} ({@code [rows, d]} row-major).
     *
     * @throws IllegalArgumentException when {@code positions > max_position_embeddings}
     */
    public float[] upTo(int positions) {
        if (positions > maxPositions) {
            throw new IllegalArgumentException("position " + positions + " is past max_position_embeddings " + maxPositions);
        }
        float[] t = table;
        if (t.length >= (long) positions * d) {
            return t;
        }
        synchronized (this) {
            t = table;
            int have = t.length / d;
            if (have < positions) {
                int rows = Math.min(maxPositions, Math.max(positions, Math.max(FIRST_ROWS, 2 * have)));
                float[] grown = java.util.Arrays.copyOf(t, Math.multiplyExact(rows, d));
                for (int pos = have; pos < rows; pos++) {
                    Positions.sinusoidalRow(pos, d, grown, pos * d);
                }
                table = grown;
                t = grown;
            }
            return t;
        }
    }

    public boolean isStored() {
        return stored;
    }
}
