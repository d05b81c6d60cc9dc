package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;

/**
 * transformers' logits processors for Marian, applied to one row of scores in place:
 * bad_words_ids (pad) get -inf; at the last position only {@code forced_eos_token_id} is allowed
 * (with score 0, as ForcedEOSTokenLogitsProcessor sets it).
 */
final class LogitsProcessor {
    private final int[] badIds;
    private final int forcedEos;
    private final int maxLength;

    LogitsProcessor(GenerationConfig gen, MarianConfig cfg, int maxLength) {
        this.badIds = gen.badTokenIds();
        this.forcedEos = gen.forcedEosId();
        this.maxLength = maxLength;
    }

    /**
     * @param curLen length of the sequence before this step's token, the start token included
     * @return true when the forced-EOS rule fired (the row now allows only EOS)
     */
    boolean apply(float[] scores, int off, int vocab, int curLen) {
        for (int id : badIds) {
            scores[off + id] = Float.NEGATIVE_INFINITY;
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
