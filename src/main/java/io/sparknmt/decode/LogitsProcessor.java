package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.LogitsView;

/**
 * transformers' logits processors for Marian, applied to one row of scores in place:
 * bad_words_ids (pad) get -inf; at the last position only {@code forced_eos_token_id} is allowed
 * (with score 0, as ForcedEOSTokenLogitsProcessor sets it). Token ids are mapped to columns
 * once, through the output layer's {@link LogitsView}.
 */
final class LogitsProcessor {
    private final int[] badColumns;
    private final int forcedEos; // column of forced_eos_token_id, or -1
    private final int maxLength;

    LogitsProcessor(GenerationConfig gen, LogitsView view, int maxLength) {
        this.badColumns = java.util.Arrays.stream(gen.badTokenIds()).map(view::column).filter(c -> c >= 0).toArray();
        if (gen.forcedEosId() >= 0 && view.column(gen.forcedEosId()) < 0) {
            throw new IllegalArgumentException("forced_eos_token_id " + gen.forcedEosId() + " is not in the output layer");
        }
        this.forcedEos = gen.forcedEosId() >= 0 ? view.column(gen.forcedEosId()) : -1;
        this.maxLength = maxLength;
    }

    /**
     * @param curLen length of the sequence before this step's token, the start token included
     * @return true when the forced-EOS rule fired (the row now allows only EOS)
     */
    boolean apply(float[] scores, int off, int vocab, int curLen) {
        for (int c : badColumns) {
            scores[off + c] = Float.NEGATIVE_INFINITY;
        }
        if (forcedEos >= 0 && curLen == maxLength - 1) {
            java.util.Arrays.fill(scores, off, off + vocab, Float.NEGATIVE_INFINITY);
            scores[off + forcedEos] = 0f;
            return true;
        }
        return false;
    }

    /** log(sum(exp(x))) over a row: the max, then float terms summed in double. */
    static double logSumExp(Kernels kernels, float[] x, int off, int len) {
        float max = kernels.max(x, off, len);
        return max + StrictMath.log(kernels.sumExp(x, off, len, max));
    }
}
