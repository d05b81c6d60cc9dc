package io.sparknmt.model;

/**
 * The encoder's result for a padded batch.
 *
 * @param hidden  [batch, srcLen, d]
 * @param batch   sentences
 * @param srcLen  padded length
 * @param lengths real length of each sentence
 */
public record EncoderOutput(float[] hidden, int batch, int srcLen, int[] lengths) {
}
