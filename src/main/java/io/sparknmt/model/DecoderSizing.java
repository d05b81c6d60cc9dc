package io.sparknmt.model;

/**
 * The one sizing rule of decoder state, used by the searches (how many positions to reserve up
 * front) and by the batch runner (whether a batch shape fits the task's budget before it runs).
 */
public final class DecoderSizing {
    private DecoderSizing() {
    }

    /**
     * Positions the self-attention cache reserves for a batch: {@code 2 x source + 10}, at most
     * the max length; it doubles later only for outputs that run longer.
     */
    public static int initialSteps(int maxLength, int srcLen) {
        return Math.min(maxLength, 2 * srcLen + 10);
    }

    /**
     * Bytes of decoder state for a batch shape: the self-attention KV cache (reordered in place
     * for beam search) for {@link #initialSteps} positions, the cross-attention keys/values and
     * the logits.
     *
     * @param sentences sentences in the batch
     * @param beams     hypothesis rows per sentence
     * @param srcLen    the batch's longest source, in tokens
     * @param maxLength decoder max length, start token included
     */
    public static long bytes(MarianConfig c, int sentences, int beams, int srcLen, int maxLength) {
        long rows = (long) sentences * beams;
        long steps = initialSteps(maxLength, srcLen);
        long kv = 2L * c.decoderLayers() * rows * steps * c.dModel() * 4;
        long cross = 2L * c.decoderLayers() * sentences * srcLen * c.dModel() * 4;
        long logits = rows * c.decoderVocabSize() * 4;
        return kv + cross + logits;
    }
}
