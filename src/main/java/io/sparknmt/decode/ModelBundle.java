package io.sparknmt.decode;

import io.sparknmt.io.Digests;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.checkpoint.Checkpoints;
import io.sparknmt.model.checkpoint.MarianRelease;
import io.sparknmt.tokenizer.MarianTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Everything a translator needs, as plain serialisable data: the checked weights, the decoding
 * defaults, the SentencePiece models and the vocabularies. Loaded and validated once (on the
 * driver in Spark), shipped as is, and turned into a {@link Translator} where it runs.
 */
public final class ModelBundle implements Serializable {
    private final MarianWeights weights;
    private final GenerationConfig generation;
    private final byte[] sourceSpm;
    private final byte[] targetSpm;
    private final HashMap<String, Integer> vocab;
    private final HashMap<String, Integer> targetVocab;
    private final int modelMaxLength;
    private final String fingerprint;

    private ModelBundle(MarianWeights weights, GenerationConfig generation, byte[] sourceSpm, byte[] targetSpm,
                        Map<String, Integer> vocab, Map<String, Integer> targetVocab, int modelMaxLength,
                        String fingerprint) {
        this.weights = weights;
        this.generation = generation;
        this.sourceSpm = sourceSpm;
        this.targetSpm = targetSpm;
        this.vocab = new HashMap<>(vocab);
        this.targetVocab = new HashMap<>(targetVocab);
        this.modelMaxLength = modelMaxLength;
        this.fingerprint = fingerprint;
    }

    /**
     * Loads and validates a model directory in the Hugging Face Marian layout (weights as
     * safetensors, pytorch_model.bin or shards: {@link Checkpoints}), or a Marian-native release
     * directory or .zip ({@link MarianRelease}).
     */
    public static ModelBundle load(Path dir) {
        if (MarianRelease.isRelease(dir)) {
            dir = MarianRelease.toHuggingFaceLayout(dir);
        }
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model directory");
        }
        MarianConfig config = MarianConfig.read(dir.resolve("config.json"));
        GenerationConfig gen = GenerationConfig.read(dir, config);
        MarianWeights weights = MarianWeights.load(dir, config);
        try {
            Map<String, Integer> vocab = MarianTokenizer.readVocab(dir.resolve("vocab.json"));
            boolean separate = false;
            int maxLen = config.maxPositions();
            Path tc = dir.resolve("tokenizer_config.json");
            if (Files.exists(tc)) {
                var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tc.toFile());
                separate = node.path("separate_vocabs").asBoolean(false);
                maxLen = Math.min(maxLen, node.path("model_max_length").asInt(maxLen));
            }
            Map<String, Integer> targetVocab = separate ? MarianTokenizer.readVocab(dir.resolve("target_vocab.json")) : vocab;
            checkVocab(dir.resolve("vocab.json"), vocab, config.vocabSize());
            checkVocab(dir.resolve(separate ? "target_vocab.json" : "vocab.json"), targetVocab, config.decoderVocabSize());
            byte[] src = readRequired(dir.resolve("source.spm"));
            byte[] tgt = readRequired(dir.resolve("target.spm"));
            String fp = fingerprint(dir);
            return new ModelBundle(weights, gen, src, tgt, vocab, targetVocab, maxLen, fp);
        } catch (IOException e) {
            throw new ModelFormatException(dir + ": " + e.getMessage(), e);
        }
    }

    private static void checkVocab(Path file, Map<String, Integer> vocab, int size) {
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (e.getValue() < 0 || e.getValue() >= size) {
                throw new ModelFormatException(file + ": piece \"" + e.getKey() + "\" has id " + e.getValue()
                        + ", outside the model's vocabulary of " + size);
            }
        }
    }

    private static byte[] readRequired(Path p) throws IOException {
        if (!Files.exists(p)) {
            throw new IOException(p.getFileName() + " is missing");
        }
        return Files.readAllBytes(p);
    }

    /** SHA-256 over the files that decide the translations (config, weights, tokenizers). */
    public static String fingerprint(Path dir) throws IOException {
        MessageDigest md = Digests.sha256();
        List<String> names = new java.util.ArrayList<>(List.of("config.json", "generation_config.json", "source.spm",
                "target.spm", "vocab.json", "target_vocab.json", "tokenizer_config.json"));
        names.addAll(2, Checkpoints.weightFiles(dir).stream().map(p -> p.getFileName().toString()).toList());
        for (String name : names) {
            Path p = dir.resolve(name);
            if (!Files.exists(p)) {
                continue;
            }
            md.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(p)) {
                Digests.update(md, in);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public MarianWeights weights() {
        return weights;
    }

    public MarianConfig config() {
        return weights.config();
    }

    public GenerationConfig generation() {
        return generation;
    }

    /** Longest source (in tokens, {@code </s>} included) the model accepts. */
    public int maxSourceTokens() {
        return modelMaxLength;
    }

    public String fingerprint() {
        return fingerprint;
    }

    /** Whether the source vocabulary holds this piece (e.g. a {@code >>xx<<} language code). */
    public boolean hasSourcePiece(String piece) {
        return vocab.containsKey(piece);
    }

    /** Approximate serialised size in bytes (weights dominate). */
    public long approximateBytes() {
        return weights.parameterCount() * 4 + sourceSpm.length + targetSpm.length + (vocab.size() + targetVocab.size()) * 24L;
    }

    /** Builds the runnable translator (packs weights, opens SentencePiece). */
    public Translator newTranslator(Kernels kernels) {
        MarianModel model = new MarianModel(weights, kernels);
        MarianTokenizer tokenizer = new MarianTokenizer(sourceSpm, targetSpm, vocab, targetVocab);
        return new Translator(model, tokenizer, generation, modelMaxLength);
    }
}
