package io.sparknmt.model;

/**
 * A batch of source id sequences as the encoder reads it: row {@code r} holds
 * {@code length(r)} ids, each already ending with {@code </s>}. The Spark job hands the encoder
 * its Arrow token batch through this view (the ids are read from the vector's buffers, not
 * copied out); {@link #of(int[][])} wraps plain arrays.
 */
public interface TokenIds {

    /** Rows (sentences). */
    int size();

    /** Ids in row {@code row}. */
    int length(int row);

    /** Id {@code position} of row {@code row}. */
    int id(int row, int position);

    /** A view of plain arrays (not copied). */
    static TokenIds of(int[][] ids) {
        return new TokenIds() {
            @Override
            public int size() {
                return ids.length;
            }

            @Override
            public int length(int row) {
                return ids[row].length;
            }

            @Override
            public int id(int row, int position) {
                return ids[row][position];
            }
        };
    }
}
