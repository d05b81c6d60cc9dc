package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decoding defaults from {@code generation_config.json}, resolved as transformers 4.4x resolves
 * them ({@code GenerationConfig.from_pretrained}, then {@code generate()}'s
 * {@code _prepare_generated_length} and {@code _prepare_special_tokens}). Without that file the
 * generation keys of config.json are used ({@code GenerationConfig.from_model_config}), and so
 * they are when the file says {@code "_from_model_config": true} (generate()'s legacy rule: such a
 * file is rebuilt from config.json).
 *
 * <p>Keys that would change a Marian decode and that the engine does not implement (sampling,
 * group beam search, constraints, ...) are collected in {@link #unsupported()}; {@link
 * #requireSupported} refuses them. Keys that change nothing for a greedy or beam decode
 * (temperature, top_k, ... without do_sample; output_* flags) are ignored, as transformers does.
 *
 * @param numBeams           num_beams
 * @param maxLength          decoder sequence length limit, the start token included: max_new_tokens + 1 when
 *                           max_new_tokens is set, else max_length (21 when max_length is transformers' default 20,
 *                           as generate() then allows 20 new tokens), at most max_position_embeddings
 * @param lengthPenalty      length_penalty: exponent of the length normalisation in beam search
 * @param badTokenIds        single-token bad_words_ids entries (minus [eos], as NoBadWordsLogitsProcessor drops it)
 * @param forcedEosId        forced_eos_token_id: the only token allowed at the last position, or -1
 * @param badSequences       bad_words_ids entries of two tokens or more, each forbidden as a whole
 * @param eosId              eos_token_id (generation_config over config.json), or -1 = the model's
 * @param decoderStartId     decoder_start_token_id (else bos_token_id, generation_config over config.json), or -1 = the model's
 * @param minNewTokens       </s> is forbidden until this many tokens are generated: min_new_tokens, else min_length - 1
 *                           (min_length counts the start token)
 * @param earlyStopping      early_stopping: true, false or "never"
 * @param noRepeatNgramSize  no_repeat_ngram_size (0 = off)
 * @param encoderNoRepeatNgramSize encoder_no_repeat_ngram_size (0 = off)
 * @param repetitionPenalty  repetition_penalty (1.0 = off)
 * @param numReturnSequences num_return_sequences
 * @param renormalizeLogits  renormalize_logits: log-softmax again after the processors
 * @param source             the file the values came from (for messages)
 * @param unsupported        keys that would change the output and are not implemented: key -> value as written
 */
public record GenerationConfig(int numBeams, int maxLength, double lengthPenalty, int[] badTokenIds,
                               int forcedEosId, int[][] badSequences, int eosId, int decoderStartId,
                               int minNewTokens, EarlyStopping earlyStopping, int noRepeatNgramSize,
                               int encoderNoRepeatNgramSize, double repetitionPenalty, int numReturnSequences,
                               boolean renormalizeLogits, String source, Map<String, String> unsupported)
        implements Serializable {

    /** transformers' early_stopping: true, false or "never". */
    public enum EarlyStopping {
        /** stop a sentence as soon as it holds num_beams finished hypotheses */
        TRUE,
        /** stop when no open beam can beat the worst kept hypothesis at the current length (the default) */
        FALSE,
        /** stop only when no open beam can beat it at any length up to max length */
        NEVER;

        /** Parses a flag or file value: true, false or never (case-insensitive). */
        public static EarlyStopping parse(String s) {
            return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> TRUE;
                case "false" -> FALSE;
                case "never" -> NEVER;
                default -> throw new IllegalArgumentException("early_stopping must be true, false or \"never\", got " + s);
            };
        }

        /** As written in generation_config.json. */
        public String json() {
            return this == NEVER ? "\"never\"" : name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public GenerationConfig {
        if (numBeams < 1) {
            throw new ModelFormatException(source + ": num_beams must be >= 1, got " + numBeams);
        }
        if (maxLength < 2) {
            throw new ModelFormatException(source + ": max_length must be >= 2, got " + maxLength);
        }
        if (numReturnSequences < 1 || numReturnSequences > numBeams) {
            throw new ModelFormatException(source + ": num_return_sequences must be in [1, num_beams " + numBeams
                    + "], got " + numReturnSequences + " (transformers refuses it too)");
        }
        if (!(repetitionPenalty > 0)) {
            throw new ModelFormatException(source + ": repetition_penalty must be > 0, got " + repetitionPenalty);
        }
        if (minNewTokens < 0 || noRepeatNgramSize < 0 || encoderNoRepeatNgramSize < 0) {
            throw new ModelFormatException(source + ": min_length/min_new_tokens, no_repeat_ngram_size and "
                    + "encoder_no_repeat_ngram_size must be >= 0");
        }
        badTokenIds = badTokenIds.clone();
        badSequences = deepClone(badSequences);
        unsupported = Collections.unmodifiableMap(new LinkedHashMap<>(unsupported));
    }

    /** The five settings older callers name; everything else as transformers' defaults, ids the model's. */
    public GenerationConfig(int numBeams, int maxLength, double lengthPenalty, int[] badTokenIds, int forcedEosId) {
        this(numBeams, maxLength, lengthPenalty, badTokenIds, forcedEosId, new int[0][], -1, -1, 0,
                EarlyStopping.FALSE, 0, 0, 1.0, 1, false, "generation config", Map.of());
    }

    @Override
    public int[] badTokenIds() {
        return badTokenIds.clone();
    }

    @Override
    public int[][] badSequences() {
        return deepClone(badSequences);
    }

    /** A copy with other bad words (single tokens and sequences). */
    public GenerationConfig withBadWords(int[] singles, int[][] sequences) {
        return new GenerationConfig(numBeams, maxLength, lengthPenalty, singles, forcedEosId, sequences, eosId,
                decoderStartId, minNewTokens, earlyStopping, noRepeatNgramSize, encoderNoRepeatNgramSize,
                repetitionPenalty, numReturnSequences, renormalizeLogits, source, unsupported);
    }

    /**
     * Refuses the keys of {@link #unsupported()} not in {@code ignored} (exit 3): a decode that
     * ignored them silently would not be the one transformers gives.
     */
    public void requireSupported(Collection<String> ignored) {
        List<String> refused = new ArrayList<>();
        unsupported.forEach((k, v) -> {
            if (!ignored.contains(k)) {
                refused.add(k + "=" + v);
            }
        });
        if (!refused.isEmpty()) {
            throw new ModelFormatException(source + ": generation key(s) " + String.join(", ", refused)
                    + " would change the output and are not supported; decode without them with"
                    + " --ignore-generation-key " + String.join(",", refused.stream().map(s -> s.substring(0, s.indexOf('='))).toList()));
        }
    }

    private static int[][] deepClone(int[][] a) {
        int[][] out = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }

    /** Reads the model directory's generation defaults (see the class comment). */
    public static GenerationConfig read(Path modelDir, MarianConfig config) {
        return read(ModelFiles.of(modelDir), config);
    }

    /** As {@link #read(Path, MarianConfig)}, from the files {@code files} names. */
    public static GenerationConfig read(ModelFiles files, MarianConfig config) {
        Path file = files.generationDefaults();
        JsonNode gen = Json.readTree(file);
        boolean fromModelConfig = file.equals(files.config());
        if (!fromModelConfig && gen.path("_from_model_config").asBoolean(false)) {
            // generate()'s legacy rule: a generation config made from the model config, unchanged since, is
            // rebuilt from config.json when config.json has non-default generation parameters (a Marian
            // config always has: MarianConfig's forced_eos_token_id defaults to 0)
            JsonNode cfg = Json.readTree(files.config());
            if (hasNonDefaultGenerationParameters(cfg)) {
                gen = cfg;
                file = files.config();
                fromModelConfig = true;
            }
        }
        return parse(gen, file.toString(), config, fromModelConfig);
    }

    /** transformers' PretrainedConfig._get_non_default_generation_parameters() is non-empty (Marian defaults). */
    private static boolean hasNonDefaultGenerationParameters(JsonNode cfg) {
        JsonNode feos = cfg.get("forced_eos_token_id");
        if (feos == null || !feos.isNull()) {
            return true; // MarianConfig's default forced_eos_token_id is 0, not None
        }
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("max_length", 20);
        defaults.put("min_length", 0);
        defaults.put("num_beams", 1);
        defaults.put("num_return_sequences", 1);
        defaults.put("no_repeat_ngram_size", 0);
        defaults.put("encoder_no_repeat_ngram_size", 0);
        for (Map.Entry<String, Object> e : defaults.entrySet()) {
            JsonNode n = cfg.get(e.getKey());
            if (n != null && !n.isNull() && n.asInt() != (Integer) e.getValue()) {
                return true;
            }
        }
        for (String k : List.of("do_sample", "early_stopping", "remove_invalid_values", "output_scores",
                "return_dict_in_generate")) {
            JsonNode n = cfg.get(k);
            if (n != null && n.isBoolean() && n.asBoolean()) {
                return true;
            }
        }
        for (String k : List.of("repetition_penalty", "length_penalty", "temperature", "top_p", "typical_p")) {
            JsonNode n = cfg.get(k);
            if (n != null && n.isNumber() && n.asDouble() != 1.0) {
                return true;
            }
        }
        for (String k : List.of("bad_words_ids", "forced_bos_token_id", "exponential_decay_length_penalty",
                "suppress_tokens", "begin_suppress_tokens")) {
            JsonNode n = cfg.get(k);
            if (n != null && !n.isNull()) {
                return true;
            }
        }
        JsonNode n = cfg.get("top_k");
        if (n != null && n.isNumber() && n.asInt() != 50) {
            return true;
        }
        n = cfg.get("num_beam_groups");
        if (n != null && n.isNumber() && n.asInt() != 1) {
            return true;
        }
        n = cfg.get("diversity_penalty");
        return n != null && n.isNumber() && n.asDouble() != 0.0;
    }

    /**
     * Resolves one generation-config object as transformers does.
     *
     * @param gen             the JSON object (generation_config.json, or config.json)
     * @param file            its name, for messages
     * @param config          the model config (vocabulary size, positions, its special ids)
     * @param fromModelConfig true when {@code gen} is config.json: keys it lacks take MarianConfig's defaults
     */
    public static GenerationConfig parse(JsonNode gen, String file, MarianConfig config, boolean fromModelConfig) {
        int vocab = config.decoderVocabSize();
        int beams = intKey(gen, "num_beams", 1, 1, file);
        double lp = doubleKey(gen, "length_penalty", 1.0, file);
        // special ids: generation_config's; a key it lacks falls back to config.json's (transformers would
        // decode without </s> or refuse to start; the engine keeps the model's)
        int eos = idKey(gen, "eos_token_id", config.eosId(), vocab, file);
        int start = gen.hasNonNull("decoder_start_token_id") ? idKey(gen, "decoder_start_token_id", -1, vocab, file)
                : gen.hasNonNull("bos_token_id") && !fromModelConfig ? idKey(gen, "bos_token_id", -1, vocab, file)
                : config.decoderStartId();
        int forcedDefault = fromModelConfig ? (config.forcedEosId() >= 0 ? config.forcedEosId()
                : gen.has("forced_eos_token_id") ? -1 : 0) : -1;
        int forced = gen.hasNonNull("forced_eos_token_id") ? idKey(gen, "forced_eos_token_id", -1, vocab, file)
                : forcedDefault;

        // lengths: generate()'s _prepare_generated_length, the decoder prompt being the one start token
        int maxLen;
        if (gen.hasNonNull("max_new_tokens")) {
            maxLen = intKey(gen, "max_new_tokens", 0, 1, file) + 1;
        } else {
            maxLen = intKey(gen, "max_length", 20, 2, file);
            if (maxLen == 20) {
                // "by default let's always generate 20 new tokens", capped at max_position_embeddings
                maxLen = Math.min(21, config.maxPositions());
            }
        }
        int minNew = gen.hasNonNull("min_new_tokens") ? intKey(gen, "min_new_tokens", 0, 0, file)
                : Math.max(0, intKey(gen, "min_length", 0, 0, file) - 1);

        EarlyStopping es = EarlyStopping.FALSE;
        JsonNode esNode = gen.get("early_stopping");
        if (esNode != null && !esNode.isNull()) {
            if (esNode.isBoolean()) {
                es = esNode.asBoolean() ? EarlyStopping.TRUE : EarlyStopping.FALSE;
            } else if (esNode.isTextual() && esNode.asText().equals("never")) {
                es = EarlyStopping.NEVER;
            } else {
                throw new ModelFormatException(file + ": early_stopping must be true, false or \"never\", got " + esNode);
            }
        }
        int ngram = intKey(gen, "no_repeat_ngram_size", 0, 0, file);
        int encNgram = intKey(gen, "encoder_no_repeat_ngram_size", 0, 0, file);
        double rep = doubleKey(gen, "repetition_penalty", 1.0, file);
        if (!(rep > 0)) {
            throw new ModelFormatException(file + ": repetition_penalty must be > 0, got " + rep);
        }
        int nrs = intKey(gen, "num_return_sequences", 1, 1, file);
        boolean renorm = boolKey(gen, "renormalize_logits", file);

        List<Integer> singles = new ArrayList<>();
        List<int[]> sequences = new ArrayList<>();
        JsonNode words = gen.get("bad_words_ids");
        if (words != null && !words.isNull()) {
            if (!words.isArray() || words.isEmpty()) {
                throw new ModelFormatException(file + ": bad_words_ids must be a non-empty list of lists of token ids, got "
                        + words);
            }
            for (JsonNode w : words) {
                if (!w.isArray() || w.isEmpty()) {
                    throw new ModelFormatException(file + ": bad_words_ids entry " + w + " is not a non-empty list of token ids");
                }
                int[] seq = new int[w.size()];
                for (int i = 0; i < seq.length; i++) {
                    JsonNode t = w.get(i);
                    if (!t.canConvertToInt() || !t.isIntegralNumber() || t.asInt() < 0 || t.asInt() >= vocab) {
                        throw new ModelFormatException(file + ": bad_words_ids entry " + t + " is outside the vocabulary [0, "
                                + vocab + ")");
                    }
                    seq[i] = t.asInt();
                }
                if (seq.length == 1) {
                    if (seq[0] != eos && !singles.contains(seq[0])) { // NoBadWordsLogitsProcessor drops [eos]
                        singles.add(seq[0]);
                    }
                } else {
                    sequences.add(seq);
                }
            }
        }
        Map<String, String> unsupported = unsupportedKeys(gen);
        if (nrs > beams) {
            throw new ModelFormatException(file + ": num_return_sequences " + nrs + " exceeds num_beams " + beams
                    + " (transformers refuses it too)");
        }
        return new GenerationConfig(beams, Math.min(maxLen, Math.max(2, config.maxPositions())), lp,
                singles.stream().mapToInt(Integer::intValue).toArray(), forced,
                sequences.toArray(new int[0][]), eos, start, minNew, es, ngram, encNgram, rep, nrs, renorm, file,
                unsupported);
    }

    /** The keys whose value would make transformers decode otherwise than greedy/beam search with the processors above. */
    private static Map<String, String> unsupportedKeys(JsonNode gen) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : List.of("do_sample", "remove_invalid_values", "token_healing")) {
            JsonNode n = gen.get(k);
            if (n != null && n.asBoolean(false)) {
                out.put(k, n.toString());
            }
        }
        JsonNode groups = gen.get("num_beam_groups");
        if (groups != null && !groups.isNull() && groups.asInt(1) != 1) {
            out.put("num_beam_groups", groups.toString());
        }
        for (String k : List.of("diversity_penalty", "penalty_alpha")) {
            JsonNode n = gen.get(k);
            if (n != null && !n.isNull() && n.asDouble(0) != 0.0) {
                out.put(k, n.toString());
            }
        }
        for (String k : List.of("encoder_repetition_penalty", "guidance_scale")) {
            JsonNode n = gen.get(k);
            if (n != null && !n.isNull() && n.asDouble(1.0) != 1.0) {
                out.put(k, n.toString());
            }
        }
        for (String k : List.of("constraints", "force_words_ids", "sequence_bias", "forced_bos_token_id",
                "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens", "forced_decoder_ids",
                "watermarking_config", "max_time", "stop_strings", "prompt_lookup_num_tokens", "dola_layers")) {
            JsonNode n = gen.get(k);
            if (n != null && !n.isNull() && !(n.isArray() && n.isEmpty() && k.equals("forced_decoder_ids"))) {
                out.put(k, n.toString());
            }
        }
        for (String k : List.of("eos_token_id", "forced_eos_token_id", "decoder_start_token_id")) {
            JsonNode n = gen.get(k);
            if (n != null && n.isArray() && n.size() > 1) {
                out.put(k, n.toString()); // several end tokens: not implemented
            }
        }
        return out;
    }

    private static int intKey(JsonNode gen, String key, int dflt, int min, String file) {
        JsonNode n = gen.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min) {
            throw new ModelFormatException(file + ": " + key + " must be an integer >= " + min + ", got " + n);
        }
        return n.asInt();
    }

    private static double doubleKey(JsonNode gen, String key, double dflt, String file) {
        JsonNode n = gen.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber() || !Double.isFinite(n.asDouble())) {
            throw new ModelFormatException(file + ": " + key + " must be a number, got " + n);
        }
        return n.asDouble();
    }

    private static boolean boolKey(JsonNode gen, String key, String file) {
        JsonNode n = gen.get(key);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw new ModelFormatException(file + ": " + key + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    /** An id key (an integer, or a list whose first entry is used when it has one entry); {@code dflt} when absent. */
    private static int idKey(JsonNode gen, String key, int dflt, int vocab, String file) {
        JsonNode n = gen.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (n.isArray()) {
            if (n.isEmpty()) {
                return dflt;
            }
            n = n.get(0); // lists of several are refused as unsupported
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0 || n.asInt() >= vocab) {
            throw new ModelFormatException(file + ": " + key + " " + n + " is outside the vocabulary [0, " + vocab + ")");
        }
        return n.asInt();
    }
}
