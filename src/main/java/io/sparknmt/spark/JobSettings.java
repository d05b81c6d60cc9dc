package io.sparknmt.spark;

import io.sparknmt.io.UsageException;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.Digests;
import io.sparknmt.io.InputFormat;
import io.sparknmt.io.OutputFormat;
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
    JobSettings(JobOptions options) {
        this.o = options;
        this.inputFormat = options.inputFormat();
        this.outputFormat = options.outputFormat();
        if (o.nBest > 1 && (outputFormat == OutputFormat.TSV || outputFormat == OutputFormat.TEXT
                || outputFormat == OutputFormat.ARROW)) {
            throw new UsageException("--n-best " + o.nBest + " needs --output-format parquet or jsonl");
        }
        if (o.incremental && (outputFormat != OutputFormat.PARQUET && outputFormat != OutputFormat.JSONL
                || inputFormat == InputFormat.ARROW)) {
            throw new UsageException("--incremental needs --output-format parquet or jsonl and a non-arrow input");
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

    /** {@code --input}: command line > conf file. Required. */
    String input() {
        return o.input;
    }

    /** {@code --output}: command line > conf file. Required. */
    String output() {
        return o.output;
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
        return new CorpusReader.Columns(o.idColumn, o.textColumn, o.maxInputBytes);
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

    /** {@code --n-best}: command line > conf file > 1; between 1 and the beam size. */
    int nBest(ModelBundle bundle) {
        int beams = beamSize(bundle);
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
     * {@code --max-output-tokens}: command line > conf file > the model's max_length - 1 (max_length
     * counts the start token); in [1, max_position_embeddings - 1].
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

    /** Length penalty of beam scores: the model's length_penalty (no option). */
    double lengthPenalty(ModelBundle bundle) {
        return bundle.generation().lengthPenalty();
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

    /** How to decode: beams, max length, the model's length penalty, n-best. */
    DecodeOptions decodeOptions(ModelBundle bundle) {
        return new DecodeOptions(beamSize(bundle), maxLength(bundle), lengthPenalty(bundle), nBest(bundle));
    }

    /** Everything a partition needs; checks every setting that depends on the model. */
    PartitionSettings partitionSettings(ModelBundle bundle) {
        // in this order, so that the first bad setting is the one reported
        beamSize(bundle);
        nBest(bundle);
        int maxIn = maxInputTokens(bundle);
        maxOutputTokens(bundle);
        String lang = targetLang(bundle);
        int batchTokens = maxBatchTokens(bundle);
        return new PartitionSettings(decodeOptions(bundle), maxIn, batchTokens, maxBatchSentences(), lang, windowRows(),
                taskMemoryBytes(), outputFormat == OutputFormat.ARROW, kernelThreads());
    }

    /**
     * What decides the translations besides the model, hashed: a change means new work for an
     * incremental run. (The key's layout is that of the manifests already written: keep it.)
     */
    String optionsHash(ModelBundle bundle) {
        CorpusReader.Columns columns = columns();
        String key = String.join("|", "beam=" + beamSize(bundle), "nbest=" + nBest(bundle),
                "maxlen=" + maxLength(bundle), "maxin=" + maxInputTokens(bundle),
                "lang=" + targetLang(bundle), "in=" + inputFormat, "id=" + columns.id(), "text=" + columns.text());
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
        return Digests.sha256Hex("format=1|" + decodeOptions(bundle), 32);
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
