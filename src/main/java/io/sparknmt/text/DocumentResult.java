package io.sparknmt.text;

import io.sparknmt.io.RowStatus;
import java.io.Serializable;
import java.util.List;

/**
 * The one output row of a document: its sentences' translations joined by the document's own
 * separators, and the row's score, status and message ({@link DocumentAssembler}).
 *
 * @param translation the joined translation; null when the status is error
 * @param score       length-weighted mean of the sentence scores (see {@link DocumentAssembler#score}), or null
 * @param status      the worst status of the sentences; empty when there is no sentence to translate
 * @param message     the non-ok sentences' messages, each naming its 0-based sentence index; null when ok
 * @param srcTokens   source tokens of all sentences
 * @param tgtTokens   generated tokens of all sentences
 * @param sentences   every sentence's result, in order (the {@code sentences} column)
 */
public record DocumentResult(String translation, Double score, RowStatus status, String message, int srcTokens,
                             int tgtTokens, List<SentenceResult> sentences) implements Serializable {
}
