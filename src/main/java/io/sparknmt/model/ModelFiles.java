package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The files of a model directory, named in one place: every reader (config, generation
 * defaults, weights, tokenizer, fingerprint) asks this class for its path. Today the Hugging
 * Face Marian layout; another checkpoint format names its own files here (or in a sibling
 * class with the same methods) and the readers above it do not change.
 *
 * <p>{@code tokenizer_config.json} is read once, here ({@link #separateVocabs()},
 * {@link #modelMaxLength(int)}).
 */
public final class ModelFiles {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    public static final String SAFETENSORS = "model.safetensors";
    /** Pickled PyTorch weights: recognised only to refuse them with advice. */
    public static final String PYTORCH_BIN = "pytorch_model.bin";
    public static final String SOURCE_SPM = "source.spm";
    public static final String TARGET_SPM = "target.spm";
    public static final String VOCAB = "vocab.json";
    public static final String TARGET_VOCAB = "target_vocab.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    /** The files that decide the translations, in the order the fingerprint hashes them. */
    static final List<String> FINGERPRINTED = List.of(CONFIG, GENERATION_CONFIG, SAFETENSORS, SOURCE_SPM, TARGET_SPM,
            VOCAB, TARGET_VOCAB, TOKENIZER_CONFIG);

    private final Path dir;
    private final JsonNode tokenizerConfig; // missing node when the file is absent

    private ModelFiles(Path dir, JsonNode tokenizerConfig) {
        this.dir = dir;
        this.tokenizerConfig = tokenizerConfig;
    }

    /** The files of {@code dir}; reads tokenizer_config.json when present. */
    public static ModelFiles of(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model directory");
        }
        Path tc = dir.resolve(TOKENIZER_CONFIG);
        JsonNode node = Files.exists(tc) ? Json.readTree(tc) : Json.MAPPER.missingNode();
        return new ModelFiles(dir, node);
    }

    public Path dir() {
        return dir;
    }

    public Path config() {
        return dir.resolve(CONFIG);
    }

    /** generation_config.json when present, else config.json (older checkpoints keep the keys there). */
    public Path generationDefaults() {
        Path gen = dir.resolve(GENERATION_CONFIG);
        return Files.exists(gen) ? gen : config();
    }

    public Path weights() {
        return dir.resolve(SAFETENSORS);
    }

    public Path pickledWeights() {
        return dir.resolve(PYTORCH_BIN);
    }

    public Path sourceSpm() {
        return dir.resolve(SOURCE_SPM);
    }

    public Path targetSpm() {
        return dir.resolve(TARGET_SPM);
    }

    public Path sourceVocab() {
        return dir.resolve(VOCAB);
    }

    /** target_vocab.json with {@code separate_vocabs}, else the one vocab.json. */
    public Path targetVocab() {
        return dir.resolve(separateVocabs() ? TARGET_VOCAB : VOCAB);
    }

    /** tokenizer_config.json's {@code separate_vocabs} (false when absent). */
    /** {@code source_lang} of tokenizer_config.json (e.g. "en"), or null. */
    public String sourceLang() {
        JsonNode v = tokenizerConfig.path("source_lang");
        return v.isTextual() && !v.asText().isBlank() ? v.asText().trim() : null;
    }

    public boolean separateVocabs() {
        return tokenizerConfig.path("separate_vocabs").asBoolean(false);
    }

    /** The longest source the tokenizer allows: tokenizer_config.json's model_max_length, at most {@code positions}. */
    public int modelMaxLength(int positions) {
        return Math.min(positions, tokenizerConfig.path("model_max_length").asInt(positions));
    }

    /** The bytes of a required file. */
    public static byte[] readRequired(Path p) throws IOException {
        if (!Files.exists(p)) {
            throw new IOException(p + " is missing");
        }
        return Files.readAllBytes(p);
    }

    /** Reads a piece -> id JSON object (vocab.json). */
    public static Map<String, Integer> readVocab(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new IOException(file + " is missing");
        }
        JsonNode root = Json.MAPPER.readTree(file.toFile());
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": expected a JSON object of piece -> id");
        }
        Map<String, Integer> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt()) {
                throw new IOException(file + ": id of piece \"" + e.getKey() + "\" is not an integer: " + e.getValue());
            }
            out.put(e.getKey(), e.getValue().asInt());
        }
        return out;
    }

    /** A fresh SHA-256 digest (the model package's fingerprints: files, shortlists). */
    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** SHA-256 over the files that decide the translations (config, weights, tokenizers), hex. */
    public String fingerprint() throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        // the weight files the format reader will read (safetensors, .bin, shards, .npz), in the
        // place model.safetensors has in the list, so that a safetensors model keeps its fingerprint
        List<String> names = new java.util.ArrayList<>(FINGERPRINTED);
        int at = names.indexOf(SAFETENSORS);
        names.remove(at);
        names.addAll(at, io.sparknmt.model.checkpoint.Checkpoints.weightFiles(dir).stream()
                .map(p -> p.getFileName().toString()).toList());
        for (String name : names) {
            Path p = dir.resolve(name);
            if (!Files.exists(p)) {
                continue;
            }
            md.update(name.getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(p)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
