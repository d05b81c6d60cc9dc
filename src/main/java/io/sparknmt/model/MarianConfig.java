package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * The architecture, read from {@code config.json}. Every field is read from the file: the
 * defaults of the Python class differ from real checkpoints, so a missing required field is an
 * error, not a guess.
 *
 * @param dModel               hidden size (d_model)
 * @param encoderLayers        encoder blocks
 * @param decoderLayers        decoder blocks
 * @param encoderHeads         attention heads in the encoder
 * @param decoderHeads         attention heads in the decoder
 * @param encoderFfn           encoder feed-forward inner size
 * @param decoderFfn           decoder feed-forward inner size
 * @param activation           feed-forward activation
 * @param scaleEmbedding       multiply token embeddings by sqrt(d_model)
 * @param shareEmbeddings      one embedding matrix for encoder and decoder (share_encoder_decoder_embeddings)
 * @param tieWordEmbeddings    output projection = decoder embeddings (else lm_head.weight)
 * @param vocabSize            source vocabulary size (vocab_size)
 * @param decoderVocabSize     target vocabulary size (decoder_vocab_size, defaults to vocab_size)
 * @param maxPositions         rows of the positional table (max_position_embeddings)
 * @param padId                pad_token_id
 * @param eosId                eos_token_id
 * @param decoderStartId       decoder_start_token_id (pad for Marian)
 * @param forcedEosId          forced_eos_token_id, or -1
 */
public record MarianConfig(
        int dModel,
        int encoderLayers,
        int decoderLayers,
        int encoderHeads,
        int decoderHeads,
        int encoderFfn,
        int decoderFfn,
        Activation activation,
        boolean scaleEmbedding,
        boolean shareEmbeddings,
        boolean tieWordEmbeddings,
        int vocabSize,
        int decoderVocabSize,
        int maxPositions,
        int padId,
        int eosId,
        int decoderStartId,
        int forcedEosId) implements Serializable {

    /**
     * Most positions accepted: the sinusoidal table and the search buffers are sized by it, so a
     * hostile config must not choose their size.
     */
    public static final int MAX_POSITIONS = 16384;

    public MarianConfig {
        requirePositive("d_model", dModel);
        requirePositive("encoder_layers", encoderLayers);
        requirePositive("decoder_layers", decoderLayers);
        requirePositive("encoder_attention_heads", encoderHeads);
        requirePositive("decoder_attention_heads", decoderHeads);
        requirePositive("encoder_ffn_dim", encoderFfn);
        requirePositive("decoder_ffn_dim", decoderFfn);
        requirePositive("vocab_size", vocabSize);
        requirePositive("decoder_vocab_size", decoderVocabSize);
        requirePositive("max_position_embeddings", maxPositions);
        if (maxPositions > MAX_POSITIONS) {
            throw new ModelFormatException("config.json: max_position_embeddings " + maxPositions + " is over the "
                    + MAX_POSITIONS + " this engine accepts (Marian models use 512 to 1024)");
        }
        if (dModel % encoderHeads != 0 || dModel % decoderHeads != 0) {
            throw new ModelFormatException("config.json: d_model " + dModel + " is not divisible by the head counts "
                    + encoderHeads + "/" + decoderHeads);
        }
        requireId("pad_token_id", padId, decoderVocabSize);
        if (padId >= vocabSize) {
            // the encoder pads sources with it, and transformers' encoder embedding takes it as padding_idx
            throw new ModelFormatException("config.json: pad_token_id " + padId + " is outside the source vocabulary [0, "
                    + vocabSize + ") (vocab_size)");
        }
        requireId("eos_token_id", eosId, decoderVocabSize);
        requireId("decoder_start_token_id", decoderStartId, decoderVocabSize);
        if (forcedEosId != -1) {
            requireId("forced_eos_token_id", forcedEosId, decoderVocabSize);
        }
        if (!shareEmbeddings && vocabSize != decoderVocabSize) {
            // fine: separate vocabularies
        } else if (shareEmbeddings && vocabSize != decoderVocabSize) {
            throw new ModelFormatException("config.json: share_encoder_decoder_embeddings is true but vocab_size "
                    + vocabSize + " != decoder_vocab_size " + decoderVocabSize);
        }
    }

    private static void requirePositive(String field, int v) {
        if (v <= 0) {
            throw new ModelFormatException("config.json: " + field + " must be positive, got " + v);
        }
    }

    private static void requireId(String field, int id, int vocab) {
        if (id < 0 || id >= vocab) {
            throw new ModelFormatException("config.json: " + field + " " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    public int encoderHeadDim() {
        return dModel / encoderHeads;
    }

    public int decoderHeadDim() {
        return dModel / decoderHeads;
    }

    /** Reads and validates {@code config.json}. */
    public static MarianConfig read(Path file) {
        JsonNode n = Json.readTree(file);
        return fromJson(n, file.toString());
    }

    static MarianConfig fromJson(JsonNode n, String file) {
        if (n.path("normalize_before").asBoolean(false)) {
            throw new ModelFormatException(file + ": normalize_before=true (pre-LayerNorm) is not a Marian layout this engine runs");
        }
        int vocab = Json.requiredInt(n, "vocab_size", file);
        boolean share = n.path("share_encoder_decoder_embeddings").asBoolean(true);
        return new MarianConfig(
                Json.requiredInt(n, "d_model", file),
                Json.requiredInt(n, "encoder_layers", file),
                Json.requiredInt(n, "decoder_layers", file),
                Json.requiredInt(n, "encoder_attention_heads", file),
                Json.requiredInt(n, "decoder_attention_heads", file),
                Json.requiredInt(n, "encoder_ffn_dim", file),
                Json.requiredInt(n, "decoder_ffn_dim", file),
                Activation.fromConfig(n.path("activation_function").asText("gelu")),
                n.path("scale_embedding").asBoolean(false),
                share,
                n.path("tie_word_embeddings").asBoolean(true),
                vocab,
                n.hasNonNull("decoder_vocab_size") ? n.get("decoder_vocab_size").asInt() : vocab,
                Json.requiredInt(n, "max_position_embeddings", file),
                Json.requiredInt(n, "pad_token_id", file),
                Json.requiredInt(n, "eos_token_id", file),
                n.hasNonNull("decoder_start_token_id") ? n.get("decoder_start_token_id").asInt()
                        : Json.requiredInt(n, "pad_token_id", file),
                n.hasNonNull("forced_eos_token_id") ? n.get("forced_eos_token_id").asInt() : -1);
    }
}
