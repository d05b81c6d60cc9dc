package io.sparknmt.model;

import io.sparknmt.kernel.Kernels;

/**
 * An encoder-decoder as the searches and the translator use it: encode a batch, open a decoder
 * state over it, feed one token per row and read the logits. The searches never name a model
 * family; {@link MarianModel} is today's implementation, and a model read from another
 * checkpoint format implements this (or is a {@code MarianModel} built from other files).
 */
public interface TranslationModel {

    Kernels kernels();

    /** pad, eos and decoder-start ids. */
    SpecialIds specialIds();

    /** The output layer: the width of a logits row and its column -> token id map. */
    LogitsView output();

    /** Source vocabulary size: source ids are in {@code [0, sourceVocabSize())}. */
    int sourceVocabSize();

    /** Positions the model has (max_position_embeddings): the longest source, and the decoder's max length. */
    int maxPositions();

    /** Runs the encoder over {@code ids} in {@code ws}; the output lives in the workspace until its next encode. */
    EncoderOutput encode(TokenIds ids, Workspace ws);

    /**
     * The decoder state of {@code ws}, prepared for {@code rowCapacity} hypothesis rows over
     * {@code enc}, with room for {@code expectedSteps} positions (see {@link DecoderSizing}).
     */
    DecoderState newDecoderState(EncoderOutput enc, int rowCapacity, int expectedSteps, Workspace ws);

    /** Starts decoding: row r decodes sentence {@code sentences[r]}. */
    void startDecoding(DecoderState st, int[] sentences);

    /**
     * Feeds one token id per active row at the next position and leaves the logits
     * ({@code [rows, output().width()]}) in {@link DecoderState#logits()}.
     */
    void decodeStep(DecoderState st, int[] tokens);

    /** Bytes of decoder state for a batch shape ({@link DecoderSizing#bytes}). */
    long decoderBytes(int sentences, int beams, int srcLen, int maxLength);
}
