package io.sparknmt.decode;

import java.io.Serializable;

/**
 * One decoded sequence.
 *
 * @param tokens      generated target ids, without the start token and without {@code </s>}
 * @param finished    true when the sequence ended with {@code </s>} (false: cut at max length)
 * @param sumLogProb  sum of the log-probabilities of the generated tokens ({@code </s>} included)
 * @param score       sumLogProb / generatedLength^lengthPenalty, transformers' sequence score
 */
public record Hypothesis(int[] tokens, boolean finished, double sumLogProb, double score) implements Serializable {

    /** Generated length as transformers counts it: the tokens plus {@code </s>} when finished. */
    public int generatedLength() {
        return tokens.length + (finished ? 1 : 0);
    }
}
