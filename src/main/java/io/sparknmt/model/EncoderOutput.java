package io.sparknmt.model;

/**
 * The encoder's result for a padded batch.
 *
 * @param hidden    [batch, srcLen, d]
 * @param batch     sentences
 * @param srcLen    padded length
 * @param lengths   real length of each sentence
 * @param outputIds the target ids the decoder may produce for this batch (sorted; a
 *                  {@link Shortlist}'s candidates), or null for the whole vocabulary
 */
public record EncoderOutput(float[] hidden, int batch, int srcLen, int[] lengths, int[] outputIds) {

    /** Over the whole target vocabulary. */
    public EncoderOutput(float[] hidden, int batch, int srcLen, int[] lengths) {
        this(hidden, batch, srcLen, lengths, null);
    }
}
