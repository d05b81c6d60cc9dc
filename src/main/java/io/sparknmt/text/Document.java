package io.sparknmt.text;

import java.io.Serializable;
import java.util.List;

/**
 * A text cut into sentences so that {@link #join()} gives back the input exactly:
 * {@code prefix + leading + s0.text + s0.trailing + s1.text + s1.trailing + ...}.
 *
 * @param prefix   a leading language code {@code >>xx<<} and the white space right after it, verbatim,
 *                 or "" (it applies to every sentence and is not part of the translation)
 * @param code     that code without the white space ({@code >>xx<<}), or null
 * @param leading  white space before the first sentence (the whole text when it has no sentence)
 * @param segments the sentences in order, each with the white space after it
 */
public record Document(String prefix, String code, String leading, List<Segment> segments) implements Serializable {
    public Document {
        segments = List.copyOf(segments);
    }

    /** The text this document was split from, byte for byte. */
    public String join() {
        StringBuilder b = new StringBuilder(prefix).append(leading);
        for (Segment s : segments) {
            b.append(s.text()).append(s.trailing());
        }
        return b.toString();
    }
}
