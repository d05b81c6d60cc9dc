package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.nio.file.Files;
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

    /** Reads generation_config.json when present; fields it lacks come from config.json. */
    public static GenerationConfig read(Path modelDir, MarianConfig config) {
        JsonNode cfg = MarianConfig.Json.readTree(modelDir.resolve("config.json"));
        Path genFile = modelDir.resolve("generation_config.json");
        JsonNode gen = Files.exists(genFile) ? MarianConfig.Json.readTree(genFile) : cfg;
        int beams = pick(gen, cfg, "num_beams").asInt(1);
        int maxLen = pick(gen, cfg, "max_length").asInt(512);
        double lp = pick(gen, cfg, "length_penalty").asDouble(1.0);
        int forced = pick(gen, cfg, "forced_eos_token_id").asInt(config.forcedEosId());
        List<Integer> bad = new ArrayList<>();
        JsonNode words = pick(gen, cfg, "bad_words_ids");
        if (words.isArray()) {
            for (JsonNode w : words) {
                if (w.isArray() && w.size() == 1) {
                    bad.add(w.get(0).asInt());
                } else if (w.isArray() && w.size() > 1) {
                    throw new ModelFormatException(genFile + ": multi-token bad_words_ids " + w + " are not supported");
                }
            }
        }
        for (int id : bad) {
            if (id < 0 || id >= config.decoderVocabSize()) {
                throw new ModelFormatException(genFile + ": bad_words_ids entry " + id + " is outside the vocabulary");
            }
        }
        return new GenerationConfig(beams, maxLen, lp, bad.stream().mapToInt(Integer::intValue).toArray(),
                pick(gen, cfg, "forced_eos_token_id").isMissingNode() ? config.forcedEosId() : forced);
    }

    private static JsonNode pick(JsonNode gen, JsonNode cfg, String field) {
        JsonNode v = gen.path(field);
        if (v.isMissingNode() || v.isNull()) {
            v = cfg.path(field);
        }
        return v.isNull() ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : v;
    }
}
