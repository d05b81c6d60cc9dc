package io.sparknmt.model;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.kernel.WeightFormat;
import io.sparknmt.model.checkpoint.Checkpoints;
import io.sparknmt.model.checkpoint.MarianRelease;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything a translator needs, as plain serialisable data: the checked weights, the decoding
 * defaults, the SentencePiece models and the vocabularies. Loaded and validated once (on the
 * driver in Spark), shipped as is, and turned into a model ({@link #newModel}) and a tokenizer
 * (by the decode package's {@code Translator.of}) where it runs. The files it reads are named
 * by {@link ModelFiles}.
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
    /** {@code source_lang} of tokenizer_config.json, or null: the sentence splitter's language. */
    private final String sourceLang;
    /** The opt-in vocabulary shortlist (--shortlist), or null: exact mode. */
    private final Shortlist shortlist;

    private ModelBundle(MarianWeights weights, GenerationConfig generation, byte[] sourceSpm, byte[] targetSpm,
                        Map<String, Integer> vocab, Map<String, Integer> targetVocab, int modelMaxLength,
                        String fingerprint, String sourceLang, Shortlist shortlist) {
        this.weights = weights;
        this.generation = generation;
        this.sourceSpm = sourceSpm;
        this.targetSpm = targetSpm;
        this.vocab = new HashMap<>(vocab);
        this.targetVocab = new HashMap<>(targetVocab);
        this.modelMaxLength = modelMaxLength;
        this.fingerprint = fingerprint;
        this.sourceLang = sourceLang;
        this.shortlist = shortlist;
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
        ModelFiles files = ModelFiles.of(dir);
        MarianConfig config = MarianConfig.read(files.config());
        GenerationConfig gen = GenerationConfig.read(files, config);
        MarianWeights weights = MarianWeights.load(files, config);
        try {
            Map<String, Integer> vocab = ModelFiles.readVocab(files.sourceVocab());
            Map<String, Integer> targetVocab = files.separateVocabs() ? ModelFiles.readVocab(files.targetVocab()) : vocab;
            int maxLen = files.modelMaxLength(config.maxPositions());
            checkVocab(files.sourceVocab(), vocab, config.vocabSize());
            checkVocab(files.targetVocab(), targetVocab, config.decoderVocabSize());
            byte[] src = readRequired(files.sourceSpm());
            byte[] tgt = readRequired(files.targetSpm());
            String fp = files.fingerprint();
            return new ModelBundle(weights, gen, src, tgt, vocab, targetVocab, maxLen, fp, files.sourceLang(), null);
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
        return ModelFiles.of(dir).fingerprint();
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

    /** {@code source_lang} of tokenizer_config.json (e.g. "en"), or null when the model does not say. */
    public String sourceLang() {
        return sourceLang;
    }

    /** Whether the source vocabulary holds this piece (e.g. a {@code >>xx<<} language code). */
    public boolean hasSourcePiece(String piece) {
        return vocab.containsKey(piece);
    }

    /** Approximate serialised size in bytes (weights dominate). */
    public long approximateBytes() {
        return weights.parameterCount() * 4 + sourceSpm.length + targetSpm.length + (vocab.size() + targetVocab.size()) * 24L;
    }

    /** The source SentencePiece model's bytes. */
    public byte[] sourceSpm() {
        return sourceSpm;
    }

    /** The target SentencePiece model's bytes. */
    public byte[] targetSpm() {
        return targetSpm;
    }

    /** piece -> id of the source side (vocab.json). */
    public Map<String, Integer> vocab() {
        return vocab;
    }

    /** piece -> id of the target side (target_vocab.json, or vocab.json). */
    public Map<String, Integer> targetVocab() {
        return targetVocab;
    }

    /**
     * This bundle with the vocabulary shortlist {@code file} (read and checked against the
     * vocabularies now): its models score only each batch's candidates ({@link Shortlist}). The
     * special tokens and the generation config's forced tokens are always allowed.
     */
    public ModelBundle withShortlist(Path file) {
        MarianConfig c = config();
        Shortlist s = Shortlist.read(file, vocab, c.vocabSize(), targetVocab, c.decoderVocabSize(),
                c.padId(), c.eosId(), c.decoderStartId(), generation.eosId(), generation.decoderStartId(),
                generation.forcedEosId(), targetVocab.getOrDefault("<unk>", -1));
        return new ModelBundle(weights, generation, sourceSpm, targetSpm, vocab, targetVocab, modelMaxLength,
                fingerprint, sourceLang, s);
    }

    /** The vocabulary shortlist this bundle's models apply, or null (exact mode). */
    public Shortlist shortlist() {
        return shortlist;
    }

    /** Builds the runnable model (packs the weights for {@code kernels}). */
    public MarianModel newModel(Kernels kernels) {
        return newModel(kernels, WeightFormat.FLOAT);
    }

    /**
     * As {@link #newModel(Kernels)}, with the linear weights (lm_head included) kept in {@code format},
     * and the bundle's shortlist if it has one.
     */
    public MarianModel newModel(Kernels kernels, WeightFormat format) {
        return new MarianModel(weights, kernels, format, shortlist);
    }
}
