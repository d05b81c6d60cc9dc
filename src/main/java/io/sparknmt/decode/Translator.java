package io.sparknmt.decode;

import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.kernel.WeightFormat;
import io.sparknmt.model.SentenceRejectedException;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.TokenIds;
import io.sparknmt.model.TranslationModel;
import io.sparknmt.model.Workspace;
import io.sparknmt.tokenizer.MarianTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Tokenize, encode, search, detokenize. Immutable and thread-safe: every call works in its own
 * {@link Workspace}, passed by the caller or made for the call. Close the translator to free the
 * native SentencePiece processors.
 */
public final class Translator implements AutoCloseable {
    private final TranslationModel model;
    private final MarianTokenizer tokenizer;
    private final GenerationConfig generation;
    private final int maxSourceTokens;

    public Translator(TranslationModel model, MarianTokenizer tokenizer, GenerationConfig generation, int maxSourceTokens) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.generation = generation;
        this.maxSourceTokens = maxSourceTokens;
    }

    /**
     * Loads a model directory with the JVM's active kernels; refuses a generation config with keys
     * the engine does not implement ({@link GenerationConfig#requireSupported}).
     */
    public static Translator load(Path modelDir) {
        ModelBundle bundle = ModelBundle.load(modelDir);
        bundle.generation().requireSupported(java.util.Set.of());
        return of(bundle, KernelProvider.get());
    }

    /** Builds the runnable translator from a bundle: packs the weights for {@code kernels}, opens SentencePiece. */
    public static Translator of(ModelBundle bundle, Kernels kernels) {
        return of(bundle, kernels, WeightFormat.FLOAT);
    }

    /** As {@link #of(ModelBundle, Kernels)}, with the linear weights kept in {@code weights}. */
    public static Translator of(ModelBundle bundle, Kernels kernels, WeightFormat weights) {
        MarianTokenizer tokenizer = new MarianTokenizer(bundle.sourceSpm(), bundle.targetSpm(), bundle.vocab(),
                bundle.targetVocab());
        return new Translator(bundle.newModel(kernels, weights), tokenizer, bundle.generation(), bundle.maxSourceTokens());
    }

    /** The model as the searches see it. */
    public TranslationModel translationModel() {
        return model;
    }

    /**
     * The Marian model, for tests and tools that read its config or step it by hand.
     *
     * @throws IllegalStateException when this translator runs another model family
     */
    public MarianModel model() {
        if (model instanceof MarianModel m) {
            return m;
        }
        throw new IllegalStateException("this translator runs a " + model.getClass().getSimpleName() + ", not a MarianModel");
    }

    /** Bytes of the weights the model keeps resident (its packed form), or -1 when it does not say. */
    public long residentBytes() {
        return model instanceof MarianModel m ? m.residentBytes() : -1;
    }

    public MarianTokenizer tokenizer() {
        return tokenizer;
    }

    public GenerationConfig generation() {
        return generation;
    }

    public int maxSourceTokens() {
        return maxSourceTokens;
    }

    /**
     * The model's defaults from generation_config.json: num_beams, max length, length_penalty,
     * num_return_sequences (the n-best), min length, early_stopping, no_repeat_ngram_size,
     * repetition_penalty.
     */
    public DecodeOptions defaultOptions() {
        return DecodeOptions.of(generation);
    }

    /** The same model and tokenizer with other generation defaults (bad words, forced EOS, processors). */
    public Translator withGeneration(GenerationConfig gen) {
        return new Translator(model, tokenizer, gen, maxSourceTokens);
    }

    /** Translates one batch of source id sequences (each ending with {@code </s>}). */
    public List<Translation> translateIds(int[][] srcIds, DecodeOptions opt) {
        try (Workspace ws = new Workspace()) {
            return translateIds(srcIds, opt, ws);
        }
    }

    /**
     * Translates one batch in {@code ws}, the caller's working memory: a thread that translates
     * batch after batch passes the same workspace and allocates its buffers once.
     */
    public List<Translation> translateIds(int[][] srcIds, DecodeOptions opt, Workspace ws) {
        return translate(TokenIds.of(srcIds), opt, ws);
    }

    /** Translates one batch read through {@code ids} (arrays, or an Arrow vector's buffers) in {@code ws}. */
    public List<Translation> translate(TokenIds ids, DecodeOptions opt, Workspace ws) {
        EncoderOutput enc = model.encode(ids, ws);
        List<Translation> out = new ArrayList<>(ids.size());
        if (opt.beamSize() == 1) {
            for (Hypothesis h : GreedySearch.run(model, generation, enc, opt, ws, ids)) {
                String text = tokenizer.decode(h.tokens());
                out.add(new Translation(text, h, List.of(new Translation.Scored(text, h))));
            }
        } else {
            for (List<Hypothesis> hs : BeamSearch.run(model, generation, enc, opt, ws, ids)) {
                List<Translation.Scored> scored = hs.stream()
                        .map(h -> new Translation.Scored(tokenizer.decode(h.tokens()), h)).toList();
                out.add(new Translation(scored.get(0).text(), hs.get(0), scored));
            }
        }
        return out;
    }

    /**
     * Translates sentences in length-sorted batches of at most {@code maxBatchSentences} and
     * {@code maxBatchTokens} padded source tokens; results come back in input order. Sources
     * longer than the model accepts are an error here (the Spark job truncates and says so).
     */
    public List<Translation> translate(List<String> sentences, DecodeOptions opt, int maxBatchSentences,
                                       int maxBatchTokens) {
        int n = sentences.size();
        int[][] ids = new int[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = tokenizer.encode(sentences.get(i));
            if (ids[i].length > maxSourceTokens) {
                throw new SentenceRejectedException("sentence " + i + " has " + ids[i].length
                        + " tokens, more than the model's " + maxSourceTokens);
            }
        }
        return translateIds(ids, opt, maxBatchSentences, maxBatchTokens);
    }

    /**
     * Translates source id sequences in length-sorted batches of at most {@code maxBatchSentences}
     * and {@code maxBatchTokens} padded source tokens, in one workspace; results in input order.
     */
    public List<Translation> translateIds(int[][] ids, DecodeOptions opt, int maxBatchSentences, int maxBatchTokens) {
        int n = ids.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> ids[i].length));
        Translation[] result = new Translation[n];
        try (Workspace ws = new Workspace()) {
            for (int start = 0; start < n; ) {
                int end = Batches.end(i -> ids[order[i]].length, start, n, maxBatchSentences, maxBatchTokens);
                int[][] batch = new int[end - start][];
                for (int i = start; i < end; i++) {
                    batch[i - start] = ids[order[i]];
                }
                List<Translation> got = translateIds(batch, opt, ws);
                for (int i = start; i < end; i++) {
                    result[order[i]] = got.get(i - start);
                }
                start = end;
            }
        }
        return Arrays.asList(result);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
