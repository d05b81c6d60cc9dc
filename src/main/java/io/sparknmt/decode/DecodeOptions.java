package io.sparknmt.decode;

import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.GenerationConfig.EarlyStopping;
import java.io.Serializable;

/**
 * How to decode one batch: the settings a caller (or the job's flags) may choose. The rest of the
 * logits processors (bad_words_ids, forced_eos_token_id, encoder_no_repeat_ngram_size,
 * renormalize_logits) are the model's {@link GenerationConfig}.
 *
 * @param beamSize          1 = greedy; otherwise beam search with this many beams
 * @param maxLength         maximum decoder sequence length, the start token included (transformers'
 *                          max_length); at most {@code maxLength - 1} tokens are generated
 * @param lengthPenalty     exponent of the length normalisation of scores
 * @param nBest             hypotheses returned per sentence (1..beamSize)
 * @param minNewTokens      {@code </s>} is forbidden until this many tokens are generated (transformers'
 *                          min_new_tokens, = min_length - 1)
 * @param earlyStopping     when a beam-search sentence is done (early_stopping)
 * @param noRepeatNgramSize no n-gram of this size occurs twice in a hypothesis, the start token
 *                          counted (0 = off)
 * @param repetitionPenalty tokens already in the hypothesis (start token included) have their
 *                          score divided (positive) or multiplied (negative) by this (1 = off)
 */
public record DecodeOptions(int beamSize, int maxLength, double lengthPenalty, int nBest, int minNewTokens,
                            EarlyStopping earlyStopping, int noRepeatNgramSize, double repetitionPenalty)
        implements Serializable {
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
        if (minNewTokens < 0) {
            throw new IllegalArgumentException("min new tokens must be >= 0, got " + minNewTokens);
        }
        if (noRepeatNgramSize < 0) {
            throw new IllegalArgumentException("no-repeat n-gram size must be >= 0, got " + noRepeatNgramSize);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
        }
        if (earlyStopping == null) {
            throw new IllegalArgumentException("early stopping must be given");
        }
    }

    /** Beams, max length, length penalty and n-best; the other settings off (transformers' defaults). */
    public DecodeOptions(int beamSize, int maxLength, double lengthPenalty, int nBest) {
        this(beamSize, maxLength, lengthPenalty, nBest, 0, EarlyStopping.FALSE, 0, 1.0);
    }

    /** Everything from the model's generation config (num_return_sequences as the n-best). */
    public static DecodeOptions of(GenerationConfig gen) {
        return new DecodeOptions(gen.numBeams(), gen.maxLength(), gen.lengthPenalty(), gen.numReturnSequences(),
                gen.minNewTokens(), gen.earlyStopping(), gen.noRepeatNgramSize(), gen.repetitionPenalty());
    }

    public static DecodeOptions greedy(int maxLength) {
        return new DecodeOptions(1, maxLength, 1.0, 1);
    }

    public static DecodeOptions beam(int beams, int maxLength) {
        return new DecodeOptions(beams, maxLength, 1.0, 1);
    }
}
