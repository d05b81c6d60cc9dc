package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Decoding defaults from {@code generation_config.json} (falling back to config.json's fields,
 * as transformers does for older checkpoints).
 *
 * @param numBeams       default beam size
 * @param maxLength      maximum decoder sequence length, the start token included
 * @param lengthPenalty  exponent of the length normalisation in beam search
 * @param badTokenIds    single-token entries of bad_words_ids: never generated
 * @param forcedEosId    forced_eos_token_id: the only token allowed at the last position, or -1
 */
public record GenerationConfig(int numBeams, int maxLength, double lengthPenalty, int[] badTokenIds,
                               int forcedEosId) implements Serializable {

    public GenerationConfig {
        if (numBeams < 1) {
            throw new ModelFormatException("generation_config.json: num_beams must be >= 1, got " + numBeams);
        }
        if (maxLength < 2) {
            throw new ModelFormatException("generation_config.json: max_length must be >= 2, got " + maxLength);
        }
        badTokenIds = badTokenIds.clone();
    }

    @Override
    public int[] badTokenIds() {
        return badTokenIds.clone();
    }

    /**
     * Reads generation_config.json when present, as transformers does: keys it lacks take the
     * GenerationConfig class defaults (num_beams 1, max_length 20, length_penalty 1.0). Without
     * that file, the generation keys of config.json are used, with the same defaults.
     */
    public static GenerationConfig read(Path modelDir, MarianConfig config) {
        return read(ModelFiles.of(modelDir), config);
    }

    /** As {@link #read(Path, MarianConfig)}, from the files {@code files} names. */
    public static GenerationConfig read(ModelFiles files, MarianConfig config) {
        Path file = files.generationDefaults();
        JsonNode gen = Json.readTree(file);
        int beams = gen.path("num_beams").asInt(1);
        int maxLen = gen.path("max_length").asInt(20);
        double lp = gen.path("length_penalty").asDouble(1.0);
        JsonNode forcedNode = gen.path("forced_eos_token_id");
        int forced = forcedNode.isNull() || forcedNode.isMissingNode() ? -1 : forcedNode.asInt();
        List<Integer> bad = new ArrayList<>();
        JsonNode words = gen.path("bad_words_ids");
        if (words.isArray()) {
            for (JsonNode w : words) {
                if (w.isArray() && w.size() == 1) {
                    bad.add(w.get(0).asInt());
                } else if (w.isArray() && w.size() > 1) {
                    throw new ModelFormatException(file + ": multi-token bad_words_ids " + w + " are not supported");
                }
            }
        }
        for (int id : bad) {
            if (id < 0 || id >= config.decoderVocabSize()) {
                throw new ModelFormatException(file + ": bad_words_ids entry " + id + " is outside the vocabulary");
            }
        }
        if (forced >= config.decoderVocabSize()) {
            throw new ModelFormatException(file + ": forced_eos_token_id " + forced + " is outside the vocabulary");
        }
        return new GenerationConfig(beams, maxLen, lp, bad.stream().mapToInt(Integer::intValue).toArray(), forced);
    }
}
