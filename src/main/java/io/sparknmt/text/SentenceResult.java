package io.sparknmt.text;

import io.sparknmt.io.RowStatus;
import java.io.Serializable;

/**
 * What became of one sentence of a document (or of one part of a long sentence).
 *
 * @param source      the sentence as it was in the input
 * @param translation its translation; the source itself for an {@code empty} sentence (kept as it is);
 *                    null for {@code error}
 * @param score       transformers' sequence score, null when not translated
 * @param status      ok, empty, truncated, split or error
 * @param message     why, for every status but ok (null for ok)
 * @param srcTokens   source tokens (all parts together, before any cut)
 * @param tgtTokens   generated tokens, {@code </s>} included (all parts together)
 */
public record SentenceResult(String source, String translation, Double score, RowStatus status, String message,
                             int srcTokens, int tgtTokens) implements Serializable {
}
