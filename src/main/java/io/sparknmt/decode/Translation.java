package io.sparknmt.decode;

import java.io.Serializable;
import java.util.List;

/**
 * A translated sentence.
 *
 * @param text   detokenized best hypothesis
 * @param best   the best hypothesis
 * @param nBest  hypotheses best first, with their texts (size 1..n-best)
 */
public record Translation(String text, Hypothesis best, List<Scored> nBest) implements Serializable {

    /** One n-best entry. */
    public record Scored(String text, Hypothesis hypothesis) implements Serializable {
    }
}
