package io.sparknmt.model;

/**
 * The token ids a search needs to know by role.
 *
 * @param pad          pad_token_id (padding of encoder inputs)
 * @param eos          eos_token_id ({@code </s>}: ends a hypothesis)
 * @param decoderStart decoder_start_token_id (the decoder's first input)
 */
public record SpecialIds(int pad, int eos, int decoderStart) {
}
