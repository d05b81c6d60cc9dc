package io.sparknmt.text;

import java.io.Serializable;

/**
 * One sentence of a document and the exact text that follows it up to the next sentence (spaces,
 * tabs, line ends, blank lines: whatever the input held, byte for byte).
 *
 * @param text     the sentence, with no white space at either end; never empty
 * @param trailing the white space after it (possibly empty)
 */
public record Segment(String text, String trailing) implements Serializable {
}
