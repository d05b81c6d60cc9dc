package io.sparknmt.model;

/**
 * The output layer as the searches and the logits processors see it: a logits row has
 * {@link #width()} columns, and column {@code c} scores token {@link #tokenId(int) tokenId(c)}.
 * Nothing above the model reads the vocabulary size itself, so a restricted vocabulary (a
 * shortlist of target ids) is one implementation of this interface, with the output projection
 * computing only its rows: the searches do not change.
 */
public interface LogitsView {

    /** Columns of a logits row. */
    int width();

    /** The token id that column {@code column} scores. */
    int tokenId(int column);

    /** The column of {@code tokenId}, or -1 when the view leaves it out. */
    int column(int tokenId);

    /** Every token of a {@code vocab}-sized output layer, column = token id. */
    static LogitsView full(int vocab) {
        return new LogitsView() {
            @Override
            public int width() {
                return vocab;
            }

            @Override
            public int tokenId(int column) {
                return column;
            }

            @Override
            public int column(int tokenId) {
                return tokenId >= 0 && tokenId < vocab ? tokenId : -1;
            }
        };
    }
}
