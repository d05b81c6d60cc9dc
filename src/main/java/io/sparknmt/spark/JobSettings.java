package io.sparknmt.spark;

import io.sparknmt.io.UsageException;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.Digests;
import io.sparknmt.io.InputFormat;
import io.sparknmt.io.OutputFormat;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.ModelBundle;
import org.apache.spark.SparkConf;
import java.io.IOException;
import picocli.CommandLine;

/**
 * The one place where the job's settings are resolved and checked, on the driver. Each setting
 * has one method, and its javadoc says where the value comes from. "Command line > conf file"
 * is picocli's: {@link ConfFile} supplies an option's value ({@code spark.nmt.<option>}) when the
 * command line does not; "model" means the model directory's {@code generation_config.json} or
 * {@code config.json}.
 *
 * <p>Every check that needs no model runs in the constructor, before the model is loaded or any
 * input is read; the checks against the model run in {@link #partitionSettings(ModelBundle)},
 * before the Spark session starts. This class alone builds {@link PartitionSettings} and
 * {@link DecodeOptions}, and owns the options hash of incremental runs.
 */
final class JobSettings {
    /** Rows read ahead and length-sorted together: this many batches' worth of sentences ... */
    static final int WINDOW_BATCHES = 8;
    /** ... and at least this many rows. */
    static final int MIN_WINDOW_ROWS = 256;

    private final JobOptions o;
    private final InputFormat inputFormat;
    private final OutputFormat outputFormat;

    /** Resolves what needs no model and refuses bad settings ({@link UsageException}). */
    private final io.sparknmt.kernel.WeightFormat weights;

    JobSettings(JobOptions options) {
        this.o = options;
        if (o.input == null == (o.inputTable == null)) {
            throw new UsageException(o.input == null ? "give --input or --input-table" : "--input and --input-table: give one");
        }
        if (o.output == null == (o.outputTable == null)) {
            throw new UsageException(o.output == null ? "give --output or --output-table" : "--output and --output-table: give one");
        }
        // a table is a data frame, read as parquet input is and written as parquet output is
        this.inputFormat = o.inputTable != null ? InputFormat.PARQUET : options.inputFormat();
        this.outputFormat = o.outputTable != null ? OutputFormat.PARQUET : options.outputFormat();
        this.weights = options.weights(); // a bad --weights is refused before anything is read
        if (o.outputMode != null && o.outputTable == null) {
            throw new UsageException("--output-mode needs --output-table (a directory: --overwrite)");
        }
        if (o.outputTable != null && o.overwrite) {
            throw new UsageException("--output-table: use --output-mode overwrite, not --overwrite");
        }
        if (o.outputMode != null) {
            outputMode();
        }
        if (o.incremental && (o.inputTable != null || o.outputTable != null)) {
            throw new UsageException("--incremental works on files: not with --input-table or --output-table");
        }
        if (o.nBest != null && o.nBest > 1 && !nBestFormat()) {
            throw new UsageException("--n-best " + o.nBest + " needs --output-format parquet or jsonl");
        }
        if (o.incremental && (outputFormat != OutputFormat.PARQUET && outputFormat != OutputFormat.JSONL
                || inputFormat == InputFormat.ARROW)) {
            throw new UsageException("--incremental needs --output-format parquet or jsonl and a non-arrow input");
        }
        if (o.emitSentences && !o.splitSentences) {
            throw new UsageException("--emit-sentences needs --split-sentences");
        }
        if (o.emitSentences && outputFormat != OutputFormat.PARQUET && outputFormat != OutputFormat.JSONL) {
            throw new UsageException("--emit-sentences needs --output-format parquet or jsonl (the sentences column is a "
                    + "list of structs), got " + outputFormat.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (o.splitSentences && (inputFormat == InputFormat.ARROW || outputFormat == OutputFormat.ARROW)) {
            throw new UsageException("--split-sentences needs text input and output: arrow is pre-tokenized");
        }
        if (o.splitSentences && o.nBest != null && o.nBest > 1) {
            throw new UsageException("--split-sentences translates documents: --n-best " + o.nBest + " has no meaning there");
        }
        if (o.sourceLang != null && !o.splitSentences) {
            throw new UsageException("--source-lang is the sentence splitter's language: it needs --split-sentences");
        }
        boolean keepSome = o.keepColumns != null && o.keepColumns.stream().anyMatch(c -> !c.isBlank());
        if (keepSome && (inputFormat == InputFormat.TEXT || inputFormat == InputFormat.ARROW)) {
            throw new UsageException("--keep-columns: " + inputFormat.name().toLowerCase(java.util.Locale.ROOT)
                    + " input has no columns to keep");
        }
        if (keepSome && outputFormat == OutputFormat.TEXT) {
            throw new UsageException("--keep-columns: --output-format text holds the translations only, no columns; "
                    + "use parquet, jsonl or tsv");
        }
        if (keepSome && outputFormat == OutputFormat.ARROW) {
            throw new UsageException("--keep-columns: --output-format arrow holds id, tokens, score and status only");
        }
        if (o.commitEveryFiles < 1) {
            throw new UsageException("--commit-every-files must be >= 1, got " + o.commitEveryFiles);
        }
        if (o.numPartitions != null && o.numPartitions < 1) {
            throw new UsageException("--num-partitions must be >= 1, got " + o.numPartitions);
        }
        if (o.beamSize != null && o.beamSize < 1) {
            throw new UsageException("--beam-size must be >= 1, got " + o.beamSize);
        }
        if (!(o.progressInterval > 0)) {
            throw new UsageException("--progress-interval must be > 0 seconds, got " + o.progressInterval);
        }
        if (o.kernelThreads < 0) {
            throw new UsageException("--kernel-threads must be >= 0, got " + o.kernelThreads);
        }
        if (o.maxBatchSentences < 1) {
            throw new UsageException("--max-batch-sentences must be >= 1");
        }
        if (o.taskMemoryMb < 1) {
            throw new UsageException("--task-memory-mb must be >= 1, got " + o.taskMemoryMb);
        }
        if (o.noDedup && o.translationMemory != null) {
            throw new UsageException("--translation-memory needs dedup: drop --no-dedup");
        }
        if (!(o.maxErrorRate >= 0 && o.maxErrorRate <= 1)) {
            throw new UsageException("--max-error-rate must be in [0, 1], got " + o.maxErrorRate);
        }
        if (o.lengthPenalty != null && !Double.isFinite(o.lengthPenalty)) {
            throw new UsageException("--length-penalty must be a finite number, got " + o.lengthPenalty);
        }
        if (o.noRepeatNgramSize != null && o.noRepeatNgramSize < 0) {
            throw new UsageException("--no-repeat-ngram-size must be >= 0, got " + o.noRepeatNgramSize);
        }
        if (o.repetitionPenalty != null && !(o.repetitionPenalty > 0 && Double.isFinite(o.repetitionPenalty))) {
            throw new UsageException("--repetition-penalty must be > 0, got " + o.repetitionPenalty);
        }
        if (o.minOutputTokens != null && o.minOutputTokens < 0) {
            throw new UsageException("--min-output-tokens must be >= 0, got " + o.minOutputTokens);
        }
        if (o.earlyStopping != null) {
            earlyStoppingFlag();
        }
    }

    /** Output formats with an n_best column. */
    private boolean nBestFormat() {
        return outputFormat == OutputFormat.PARQUET || outputFormat == OutputFormat.JSONL;
    }

    private GenerationConfig.EarlyStopping earlyStoppingFlag() {
        try {
            return GenerationConfig.EarlyStopping.parse(o.earlyStopping);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--early-stopping must be true, false or never, got " + o.earlyStopping);
        }
    }

    /** Parses {@code args} as the job does (command line, then {@code --conf-file}), without running anything. */
    static JobSettings parse(String... args) throws IOException {
        TranslateJob job = new TranslateJob();
        CommandLine cl = TranslateJob.commandLine(job, args);
        cl.parseArgs(args);
        return new JobSettings(job.opts);
    }

    /** {@code --model}: command line > conf file. Required. */
    String model() {
        return o.model;
    }

    /** {@code --input}: command line > conf file. Required unless --input-table. */
    String input() {
        return o.input;
    }

    /** {@code --output}: command line > conf file. Required unless --output-table. */
    String output() {
        return o.output;
    }

    /** {@code --input-table}: command line > conf file > none (null); instead of --input. */
    String inputTable() {
        return o.inputTable;
    }

    /** {@code --output-table}: command line > conf file > none (null); instead of --output. */
    String outputTable() {
        return o.outputTable;
    }

    /** What the summary calls the input: the path, or {@code table NAME}. */
    String inputName() {
        return o.input != null ? o.input : "table " + o.inputTable;
    }

    /** What the summary calls the output: the path, or {@code table NAME}. */
    String outputName() {
        return o.output != null ? o.output : "table " + o.outputTable;
    }

    /** {@code --output-mode} of --output-table: command line > conf file > error-if-exists. */
    org.apache.spark.sql.SaveMode outputMode() {
        String m = o.outputMode == null ? "error-if-exists" : o.outputMode.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (m) {
            case "append" -> org.apache.spark.sql.SaveMode.Append;
            case "overwrite" -> org.apache.spark.sql.SaveMode.Overwrite;
            case "error-if-exists" -> org.apache.spark.sql.SaveMode.ErrorIfExists;
            default -> throw new UsageException("--output-mode must be append, overwrite or error-if-exists, got " + o.outputMode);
        };
    }

    /** {@code --overwrite}: command line > conf file > false. */
    boolean overwrite() {
        return o.overwrite;
    }

    /** {@code --input-format}: command line > conf file > text. */
    InputFormat inputFormat() {
        return inputFormat;
    }

    /** {@code --output-format}: command line > conf file > parquet. */
    OutputFormat outputFormat() {
        return outputFormat;
    }

    /** {@code --id-column} and {@code --text-column}: command line > conf file > id, text. */
    CorpusReader.Columns columns() {
        return new CorpusReader.Columns(o.idColumn, o.textColumn, o.maxInputBytes, keepColumns());
    }

    /**
     * {@code --keep-columns}: command line > conf file > all input columns (null); an empty value keeps none.
     * Text output keeps none (it holds the translations only) and Arrow output none (its layout is fixed).
     */
    java.util.List<String> keepColumns() {
        if (outputFormat == OutputFormat.TEXT || outputFormat == OutputFormat.ARROW) {
            return java.util.List.of();
        }
        if (o.keepColumns == null) {
            return null;
        }
        return o.keepColumns.stream().map(String::trim).filter(c -> !c.isEmpty()).distinct().toList();
    }

    /** {@code --split-sentences}: command line > conf file > false. */
    boolean splitSentences() {
        return o.splitSentences;
    }

    /** {@code --emit-sentences}: command line > conf file > false; needs --split-sentences and parquet/jsonl output. */
    boolean emitSentences() {
        return o.emitSentences;
    }

    /**
     * The sentence splitter's language: {@code --source-lang} (command line > conf file) > the model's
     * {@code source_lang} (tokenizer_config.json) > none (ICU's language-independent rules). Null without
     * --split-sentences.
     */
    String sourceLang(ModelBundle bundle) {
        if (!o.splitSentences) {
            return null;
        }
        return o.sourceLang != null ? o.sourceLang.trim() : bundle.sourceLang();
    }

    /** {@code --master}: command line > conf file > what spark-submit set > local[*] (see TranslateJob). */
    String master() {
        return o.master;
    }

    /** {@code --incremental}: command line > conf file > false. Needs parquet or jsonl output and a non-arrow input. */
    boolean incremental() {
        return o.incremental;
    }

    /** {@code --force}: command line > conf file > false. */
    boolean force() {
        return o.force;
    }

    /** {@code --commit-every-files}: command line > conf file > 1; at least 1. */
    int commitEveryFiles() {
        return o.commitEveryFiles;
    }

    /**
     * {@code --max-error-rate}: command line > conf file > 0.01, so that a scheduler trusting exit 0
     * never takes a run whose rows mostly failed for a success.
     */
    double maxErrorRate() {
        return o.maxErrorRate;
    }

    /** {@code --report}: command line > conf file > none (null). */
    String report() {
        return o.report;
    }

    /** Dedup (each distinct source translated once): on unless {@code --no-dedup} (command line > conf file). */
    boolean dedup() {
        return !o.noDedup;
    }

    /** {@code --translation-memory}: command line > conf file > none (null). Needs dedup. */
    String translationMemory() {
        return o.translationMemory;
    }

    /** {@code --beam-size}: command line > conf file > the model's num_beams; at least 1. */
    int beamSize(ModelBundle bundle) {
        int beams = o.beamSize != null ? o.beamSize : bundle.generation().numBeams();
        if (beams < 1) {
            throw new UsageException("--beam-size must be >= 1, got " + beams);
        }
        return beams;
    }

    /**
     * {@code --n-best}: command line > conf file > the model's num_return_sequences (at most the
     * beam size; 1 when the output format has no n_best column, and for documents); between 1 and
     * the beam size.
     */
    int nBest(ModelBundle bundle) {
        int beams = beamSize(bundle);
        if (o.nBest == null) {
            return nBestFormat() && !o.splitSentences ? Math.min(bundle.generation().numReturnSequences(), beams) : 1;
        }
        if (o.nBest < 1 || o.nBest > beams) {
            throw new UsageException("--n-best must be between 1 and the beam size " + beams + ", got " + o.nBest);
        }
        return o.nBest;
    }

    /**
     * {@code --max-input-tokens}: command line > conf file > the model's limit (model_max_length of
     * tokenizer_config.json, at most max_position_embeddings); in [2, that limit].
     */
    int maxInputTokens(ModelBundle bundle) {
        int modelMaxIn = bundle.maxSourceTokens();
        int maxIn = o.maxInputTokens != null ? o.maxInputTokens : modelMaxIn;
        if (maxIn < 2 || maxIn > modelMaxIn) {
            throw new UsageException("--max-input-tokens must be in [2, " + modelMaxIn + "] for this model, got " + maxIn);
        }
        return maxIn;
    }

    /**
     * {@code --max-output-tokens}: command line > conf file > the model's max_new_tokens, else its
     * max_length - 1 (max_length counts the start token; transformers' default 20 allows 20 new
     * tokens); in [1, max_position_embeddings - 1].
     */
    int maxOutputTokens(ModelBundle bundle) {
        int positions = bundle.config().maxPositions();
        int maxOut = o.maxOutputTokens != null ? o.maxOutputTokens : bundle.generation().maxLength() - 1;
        if (maxOut < 1 || maxOut > positions - 1) {
            throw new UsageException("--max-output-tokens must be in [1, " + (positions - 1) + "], got " + maxOut);
        }
        return maxOut;
    }

    /** The decoder's max length as transformers counts it: {@link #maxOutputTokens} + the start token. */
    int maxLength(ModelBundle bundle) {
        return maxOutputTokens(bundle) + 1;
    }

    /** {@code --length-penalty}: command line > conf file > the model's length_penalty (else 1.0). */
    double lengthPenalty(ModelBundle bundle) {
        return o.lengthPenalty != null ? o.lengthPenalty : bundle.generation().lengthPenalty();
    }

    /** {@code --no-repeat-ngram-size}: command line > conf file > the model's no_repeat_ngram_size (else 0 = off). */
    int noRepeatNgramSize(ModelBundle bundle) {
        return o.noRepeatNgramSize != null ? o.noRepeatNgramSize : bundle.generation().noRepeatNgramSize();
    }

    /** {@code --repetition-penalty}: command line > conf file > the model's repetition_penalty (else 1.0 = off). */
    double repetitionPenalty(ModelBundle bundle) {
        return o.repetitionPenalty != null ? o.repetitionPenalty : bundle.generation().repetitionPenalty();
    }

    /**
     * {@code --min-output-tokens}: command line > conf file > the model's min_new_tokens, else its
     * min_length - 1 (min_length counts the start token), else 0.
     */
    int minOutputTokens(ModelBundle bundle) {
        return o.minOutputTokens != null ? o.minOutputTokens : bundle.generation().minNewTokens();
    }

    /** {@code --early-stopping}: command line > conf file > the model's early_stopping (else false). */
    GenerationConfig.EarlyStopping earlyStopping(ModelBundle bundle) {
        return o.earlyStopping != null ? earlyStoppingFlag() : bundle.generation().earlyStopping();
    }

    /** {@code --ignore-generation-key}: command line > conf file > none. */
    java.util.List<String> ignoredGenerationKeys() {
        return o.ignoreGenerationKeys == null ? java.util.List.of()
                : o.ignoreGenerationKeys.stream().map(String::trim).filter(k -> !k.isEmpty()).sorted().distinct().toList();
    }

    /**
     * The model's generation keys that the engine does not implement, less the ignored ones, are
     * refused: a {@link io.sparknmt.model.ModelFormatException} (exit 3) naming them and the file.
     */
    void checkGenerationKeys(ModelBundle bundle) {
        bundle.generation().requireSupported(ignoredGenerationKeys());
    }

    /** {@code --target-lang}: command line > conf file > none; {@code >>xx<<} must be in the source vocabulary. */
    String targetLang(ModelBundle bundle) {
        if (o.targetLang != null) {
            String code = ">>" + o.targetLang + "<<";
            if (!bundle.hasSourcePiece(code)) {
                throw new UsageException("--target-lang " + o.targetLang + ": " + code
                        + " is not in the model's vocabulary");
            }
        }
        return o.targetLang;
    }

    /** {@code --max-batch-tokens}: command line > conf file > 4096; at least the max input tokens, so every sentence fits. */
    int maxBatchTokens(ModelBundle bundle) {
        int maxIn = maxInputTokens(bundle);
        if (o.maxBatchTokens < maxIn) {
            throw new UsageException("--max-batch-tokens " + o.maxBatchTokens
                    + " must be at least --max-input-tokens " + maxIn + " so every sentence fits a batch");
        }
        return o.maxBatchTokens;
    }

    /** {@code --max-batch-sentences}: command line > conf file > 64; at least 1. */
    int maxBatchSentences() {
        return o.maxBatchSentences;
    }

    /** Rows read ahead and length-sorted together: {@link #WINDOW_BATCHES} batches of sentences, at least {@link #MIN_WINDOW_ROWS}. */
    int windowRows() {
        return Math.max(o.maxBatchSentences * WINDOW_BATCHES, MIN_WINDOW_ROWS);
    }

    /** {@code --task-memory-mb} in bytes: command line > conf file > 512 MB. */
    long taskMemoryBytes() {
        return (long) o.taskMemoryMb << 20;
    }

    /** {@code --progress-interval} in milliseconds. */
    long progressIntervalMillis() {
        return Math.max(1, Math.round(o.progressInterval * 1000));
    }

    /** {@code --weights}: command line > conf file > float (exact mode). */
    io.sparknmt.kernel.WeightFormat weights() {
        return weights;
    }

    /** {@code --shortlist}: the shortlist file (local path) or null (exact mode). */
    String shortlist() {
        return o.shortlist;
    }

    /** {@code --kernel-threads}: command line > conf file > 0 (= spark.task.cpus, resolved in the task). */

    int kernelThreads() {
        return o.kernelThreads;
    }

    /**
     * {@code --num-partitions}: command line > conf file > the larger of the input's partitions
     * and Spark's default parallelism. Checked (at least 1) before anything is read.
     */
    int numPartitions(int inputPartitions, int defaultParallelism) {
        return o.numPartitions != null ? o.numPartitions : Math.max(inputPartitions, defaultParallelism);
    }

    /** How to decode: beams, max length, length penalty, n-best, min length, early stopping, n-gram and repetition rules. */
    DecodeOptions decodeOptions(ModelBundle bundle) {
        return new DecodeOptions(beamSize(bundle), maxLength(bundle), lengthPenalty(bundle), nBest(bundle),
                minOutputTokens(bundle), earlyStopping(bundle), noRepeatNgramSize(bundle), repetitionPenalty(bundle));
    }

    /** Everything a partition needs; checks every setting that depends on the model. */
    PartitionSettings partitionSettings(ModelBundle bundle) {
        // in this order, so that the first bad setting is the one reported
        checkGenerationKeys(bundle);
        beamSize(bundle);
        nBest(bundle);
        int maxIn = maxInputTokens(bundle);
        maxOutputTokens(bundle);
        String lang = targetLang(bundle);
        int batchTokens = maxBatchTokens(bundle);
        return new PartitionSettings(decodeOptions(bundle), maxIn, batchTokens, maxBatchSentences(), lang, windowRows(),
                taskMemoryBytes(), outputFormat == OutputFormat.ARROW, kernelThreads(), splitSentences(),
                sourceLang(bundle), emitSentences(), weights());
    }

    /**
     * What decides the translations besides the model, hashed: a change means new work for an
     * incremental run. (The key's layout is that of the manifests already written: keep it.
     * Settings added later join the key only when they differ from their default, so that the
     * runs already committed under the defaults stay valid.)
     */
    String optionsHash(ModelBundle bundle) {
        CorpusReader.Columns columns = columns();
        String key = String.join("|", "beam=" + beamSize(bundle), "nbest=" + nBest(bundle),
                "maxlen=" + maxLength(bundle), "maxin=" + maxInputTokens(bundle),
                "lang=" + targetLang(bundle), "in=" + inputFormat, "id=" + columns.id(), "text=" + columns.text());
        // settings added later join the key only when given, so the hashes of earlier manifests stay valid
        StringBuilder more = new StringBuilder();
        if (o.lengthPenalty != null) {
            more.append("|lp=").append(o.lengthPenalty);
        }
        if (o.noRepeatNgramSize != null) {
            more.append("|norepeat=").append(o.noRepeatNgramSize);
        }
        if (o.repetitionPenalty != null) {
            more.append("|reppen=").append(o.repetitionPenalty);
        }
        if (o.minOutputTokens != null) {
            more.append("|minout=").append(o.minOutputTokens);
        }
        if (o.earlyStopping != null) {
            more.append("|es=").append(earlyStoppingFlag());
        }
        if (!ignoredGenerationKeys().isEmpty()) {
            more.append("|ignore=").append(String.join(",", ignoredGenerationKeys()));
        }
        key += more;
        if (o.splitSentences || columns.keep() != null) { // new settings extend the key, so older manifests stay valid
            key += "|split=" + o.splitSentences + "|srclang=" + sourceLang(bundle) + "|sentences=" + o.emitSentences
                    + "|keep=" + columns.keep();
        }
        if (columns.maxInputBytes() != JobOptions.DEFAULT_MAX_INPUT_BYTES) {
            key += "|maxbytes=" + columns.maxInputBytes(); // the byte cap decides which rows are errors
        }
        if (weights() != io.sparknmt.kernel.WeightFormat.FLOAT) { // exact mode keeps the key of earlier manifests
            key += "|weights=" + weights().flag();
        }
        key += shortlistKey(bundle);
        return Digests.sha256Hex(key, 32);
    }

    /**
     * What decides a unit's translation besides the model (its fingerprint covers the config and
     * generation_config.json) and its source ids, hashed: the key of the translation memory. It is
     * the whole {@link DecodeOptions} record (every component a number or an enum, so its text is
     * stable), so a decoding setting added there joins the key by itself; a setting outside it
     * that changes the translations must be added here. Unlike {@link #optionsHash} it leaves out
     * what only concerns reading (input format, columns) and --max-input-tokens and --target-lang,
     * which the ids already hold. {@code format} is that of the stored results ({@link Units#encode}).
     */
    String memoryOptionsHash(ModelBundle bundle) {
        // the model's generation_config.json is in the fingerprint; keys this run ignores are not
        return Digests.sha256Hex("format=1|" + decodeOptions(bundle)
                + (ignoredGenerationKeys().isEmpty() ? "" : "|ignore=" + String.join(",", ignoredGenerationKeys()))
                + (weights() == io.sparknmt.kernel.WeightFormat.FLOAT ? "" : "|weights=" + weights().flag())
                + shortlistKey(bundle), 32);
    }

    /** The shortlist's part of the option keys: its file's digest (nothing in exact mode, as before it existed). */
    private static String shortlistKey(ModelBundle bundle) {
        return bundle.shortlist() == null ? "" : "|shortlist=" + bundle.shortlist().digest();
    }

    /** The Hadoop configuration the session will have: Hadoop's defaults plus the {@code spark.hadoop.*} settings. */
    static org.apache.hadoop.conf.Configuration hadoopConf(SparkConf conf) {
        org.apache.hadoop.conf.Configuration h = new org.apache.hadoop.conf.Configuration();
        for (scala.Tuple2<String, String> e : conf.getAllWithPrefix("spark.hadoop.")) {
            h.set(e._1(), e._2());
        }
        return h;
    }
}
