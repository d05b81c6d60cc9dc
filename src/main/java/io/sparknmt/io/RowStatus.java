package io.sparknmt.io;

import java.util.Locale;

/** The {@code status} column of an output row; {@link #value()} is what the row holds. */
public enum RowStatus {
    /** translated */
    OK,
    /** null, empty or blank input: translated as "" */
    EMPTY,
    /** the source was cut to --max-input-tokens, or the translation stopped at --max-output-tokens */
    TRUNCATED,
    /**
     * with --split-sentences: a sentence longer than --max-input-tokens was translated in parts (cut at
     * clause punctuation, then into token windows) and the parts' translations joined; nothing was cut
     */
    SPLIT,
    /** no translation: invalid input, an unreadable file or a failed batch; the message says why */
    ERROR;

    private final String value = name().toLowerCase(Locale.ROOT);

    /** The value in the status column: {@code ok}, {@code empty}, {@code truncated}, {@code split}, {@code error}. */
    public String value() {
        return value;
    }
}
