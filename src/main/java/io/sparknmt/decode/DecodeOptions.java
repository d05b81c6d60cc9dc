package io.sparknmt.decode;

import java.io.Serializable;

/**
 * How to decode one batch.
 *
 * @param beamSize      1 = greedy; otherwise beam search with this many beams
 * @param maxLength     maximum decoder sequence length, the start token included (transformers'
 *                      max_length); at most {@code maxLength - 1} tokens are generated
 * @param lengthPenalty exponent of the length normalisation of scores
 * @param nBest         hypotheses returned per sentence (1..beamSize)
 */
public record DecodeOptions(int beamSize, int maxLength, double lengthPenalty, int nBest) implements Serializable {
    public DecodeOptions {
        if (beamSize < 1) {
            throw new IllegalArgumentException("beam size must be >= 1, got " + beamSize);
        }
        if (maxLength < 2) {
            throw new IllegalArgumentException("max length must be >= 2, got " + maxLength);
        }
        if (nBest < 1 || nBest > beamSize) {
            throw new IllegalArgumentException("n-best must be in [1, beam size " + beamSize + "], got " + nBest);
        }
    }

    public static DecodeOptions greedy(int maxLength) {
        return new DecodeOptions(1, maxLength, 1.0, 1);
    }

    public static DecodeOptions beam(int beams, int maxLength) {
        return new DecodeOptions(beams, maxLength, 1.0, 1);
    }
}
