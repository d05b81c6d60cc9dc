package io.sparknmt.spark;

import io.sparknmt.io.UsageException;
import io.sparknmt.io.InputFormat;
import io.sparknmt.io.OutputFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Command-line options of the translate job. Precedence: the command line, then the conf file
 * ({@code --conf-file}: keys {@code spark.nmt.<option-name>} for these options, {@code spark.*}
 * for Spark), then the model's defaults (generation_config.json).
 */
public final class JobOptions {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model: a Hugging Face Marian directory (model.safetensors or pytorch_model.bin, sharded or not), "
                    + "a Marian-native release (directory or .zip with the .npz), as a local path or any Hadoop FS URI "
                    + "(file:, hdfs:, s3a:); or a hub id org/name[@revision] resolved offline in the local Hugging Face cache.")
    String model;

    @Option(names = "--input", paramLabel = "PATH", description = "Input file, directory or glob (or --input-table).")
    String input;

    @Option(names = "--input-table", paramLabel = "NAME",
            description = "Input table of the session's catalog ([db.]table; e.g. the Hive metastore with "
                    + "spark.sql.catalogImplementation=hive), read as parquet input is: --text-column, --id-column, "
                    + "--keep-columns. Instead of --input.")
    String inputTable;

    @Option(names = "--output", paramLabel = "DIR", description = "Output directory (must not exist unless --overwrite) (or --output-table).")
    String output;

    @Option(names = "--output-table", paramLabel = "NAME",
            description = "Output table of the session's catalog, written as the parquet output (saveAsTable). Instead of --output.")
    String outputTable;

    @Option(names = "--output-mode", paramLabel = "MODE",
            description = "With --output-table: append | overwrite | error-if-exists (default: error-if-exists).")
    String outputMode;

    @Option(names = "--input-format", paramLabel = "FMT", defaultValue = "text",
            description = "text | tsv | csv | jsonl | parquet | arrow (default: ${DEFAULT-VALUE}).")
    String inputFormat;

    @Option(names = "--output-format", paramLabel = "FMT", defaultValue = "parquet",
            description = "parquet | jsonl | tsv | text | arrow (default: ${DEFAULT-VALUE}).")
    String outputFormat;

    @Option(names = "--id-column", paramLabel = "NAME", defaultValue = "id",
            description = "Id column of tsv/csv/jsonl/parquet input; absent column = 0-based record number (default: ${DEFAULT-VALUE}).")
    String idColumn;

    @Option(names = "--text-column", paramLabel = "NAME", defaultValue = "text",
            description = "Text column of tsv/csv/jsonl/parquet input (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = "--keep-columns", paramLabel = "A,B,C", split = ",",
            description = "Input columns to keep in the output beside the translation columns (tsv/csv/jsonl/parquet); "
                    + "default: all of them; an empty value keeps none. The id and text columns are the id and source columns.")
    java.util.List<String> keepColumns;

    @Option(names = "--split-sentences",
            description = "Documents: split each text into sentences (ICU4J, the source language's rules), translate the "
                    + "sentences, and join their translations with the text's own separators into one output row.")
    boolean splitSentences;

    @Option(names = "--source-lang", paramLabel = "XX",
            description = "Language of the sentence splitter (BCP 47 / ISO 639, e.g. en, de, zh) (default: source_lang of "
                    + "the model's tokenizer_config.json, else language-independent rules).")
    String sourceLang;

    @Option(names = "--emit-sentences",
            description = "With --split-sentences: add a sentences column (source, translation, score, status, message of "
                    + "each sentence) (parquet/jsonl output).")
    boolean emitSentences;

    /** --max-input-bytes when not given (1 MiB: documents fit, a runaway line does not). */
    static final long DEFAULT_MAX_INPUT_BYTES = 1L << 20;

    @Option(names = "--max-input-bytes", paramLabel = "N", defaultValue = "" + DEFAULT_MAX_INPUT_BYTES,
            description = "Longest input record in bytes; a longer one is an error row holding its first 1024 bytes "
                    + "(default: ${DEFAULT-VALUE}).")
    long maxInputBytes;

    @Option(names = "--beam-size", paramLabel = "N", description = "Beams; 1 = greedy (default: num_beams of generation_config.json).")
    Integer beamSize;

    @Option(names = "--n-best", paramLabel = "N",
            description = "Hypotheses per sentence in the n_best column (parquet/jsonl output) (default: num_return_sequences "
                    + "of generation_config.json, at most the beam size; 1 for other output formats).")
    Integer nBest;

    @Option(names = "--length-penalty", paramLabel = "X",
            description = "Beam scores are sum(log p) / length^X (default: length_penalty of generation_config.json, else 1.0).")
    Double lengthPenalty;

    @Option(names = "--no-repeat-ngram-size", paramLabel = "N",
            description = "No n-gram of N tokens occurs twice in an output; 0 = off (default: no_repeat_ngram_size of "
                    + "generation_config.json, else 0).")
    Integer noRepeatNgramSize;

    @Option(names = "--repetition-penalty", paramLabel = "X",
            description = "Scores of tokens already in the output are divided (positive) or multiplied (negative) by X; "
                    + "1 = off (default: repetition_penalty of generation_config.json, else 1.0).")
    Double repetitionPenalty;

    @Option(names = "--min-output-tokens", paramLabel = "N",
            description = "</s> is not generated before N tokens (default: min_new_tokens of generation_config.json, "
                    + "else min_length - 1, else 0).")
    Integer minOutputTokens;

    @Option(names = "--early-stopping", paramLabel = "MODE",
            description = "Beam search: true | false | never, as transformers' early_stopping (default: early_stopping "
                    + "of generation_config.json, else false).")
    String earlyStopping;

    @Option(names = "--ignore-generation-key", paramLabel = "KEY", split = ",",
            description = "Decode as if generation_config.json did not set KEY, a key the engine does not implement "
                    + "(do_sample, num_beam_groups, ...); without it such a key is refused (exit 3). Repeatable.")
    java.util.List<String> ignoreGenerationKeys;

    @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "4096",
            description = "Padded source tokens per batch (default: ${DEFAULT-VALUE}).")
    int maxBatchTokens;

    @Option(names = "--max-batch-sentences", paramLabel = "N", defaultValue = "64",
            description = "Sentences per batch (default: ${DEFAULT-VALUE}).")
    int maxBatchSentences;

    @Option(names = "--max-input-tokens", paramLabel = "N",
            description = "Longest source in tokens, </s> included; longer sources are cut and their status says so "
                    + "(default: the model's limit, model_max_length / max_position_embeddings).")
    Integer maxInputTokens;

    @Option(names = "--max-output-tokens", paramLabel = "N",
            description = "Most tokens generated per sentence; a translation that reaches it is marked truncated "
                    + "(default: max_length - 1 of generation_config.json).")
    Integer maxOutputTokens;

    @Option(names = "--num-partitions", paramLabel = "N",
            description = "Partitions to translate in (default: at least the default parallelism).")
    Integer numPartitions;

    @Option(names = "--target-lang", paramLabel = "XX",
            description = "Prepend >>XX<< to every source (multilingual models); XX must be in the model's vocabulary.")
    String targetLang;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (default: what spark-submit set, else local[*]).")
    String master;

    @Option(names = "--conf-file", paramLabel = "FILE",
            description = "spark-defaults style file: spark.* settings and spark.nmt.<option> defaults; the command line wins.")
    String confFile;

    @Option(names = "--overwrite", description = "Replace an existing output directory.")
    boolean overwrite;

    @Option(names = "--max-error-rate", paramLabel = "R", defaultValue = "0.01",
            description = "Exit with code 5 when the share of rows with status error exceeds R, in [0, 1]; the output "
                    + "is written all the same (default: ${DEFAULT-VALUE}).")
    double maxErrorRate;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the run summary as JSON to FILE (a local path or any Hadoop FS URI).")
    String report;

    @Option(names = "--incremental",
            description = "Translate only input files not yet done for this model and these options (run manifest in the output).")
    boolean incremental;

    @Option(names = "--force", description = "With --incremental: redo every input file.")
    boolean force;

    @Option(names = "--commit-every-files", paramLabel = "N", defaultValue = "1",
            description = "With --incremental: commit the output and the manifest after every N input files (default: ${DEFAULT-VALUE}).")
    int commitEveryFiles;

    @Option(names = "--progress-interval", paramLabel = "SECONDS", defaultValue = "10",
            description = "Least time between two progress lines (rows done / total, tokens/s, ETA) "
                    + "(default: ${DEFAULT-VALUE}); running tasks report with each executor heartbeat "
                    + "(spark.executor.heartbeatInterval).")
    double progressInterval;

    @Option(names = "--kernel-threads", paramLabel = "N", defaultValue = "0",
            description = "Threads that split one task's linear layers; 0 = spark.task.cpus, the CPUs Spark reserves "
                    + "per task (default: ${DEFAULT-VALUE}). Several 1-thread tasks usually beat fewer wider ones.")
    int kernelThreads;

    @Option(names = "--task-memory-mb", paramLabel = "MB", defaultValue = "512",
            description = "Memory budget of one task: its Arrow token batches and the decoder state (KV cache) of a batch; "
                    + "larger batches are split (default: ${DEFAULT-VALUE}).")
    int taskMemoryMb;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "float",
            description = "How executors keep the linear weights: float (exact: the checkpoint's values), int8 "
                    + "(opt-in: per-output-row int8, quantized at load; 0.25x the memory, translations may differ) "
                    + "or bf16 (opt-in: each weight rounded to bfloat16 at load, float32 math; 0.5x the memory and "
                    + "faster where decoding waits on memory, translations may differ) (default: ${DEFAULT-VALUE}).")
    String weights;

    @Option(names = "--shortlist", paramLabel = "FILE",
            description = "Opt-in: score only each batch's candidate target tokens, read from FILE (a local JSON file "
                    + "written by jobs/build-shortlist for this model): faster, translations may differ from exact mode.")
    String shortlist;

    @Option(names = "--no-dedup",
            description = "Translate every row's source even when it repeats; by default each distinct source (its token "
                    + "ids) is translated once and the result joined back to every row, with identical output.")
    boolean noDedup;

    @Option(names = "--translation-memory", paramLabel = "PATH",
            description = "Reuse and extend the translations of earlier runs kept at PATH (any Hadoop FS), per model and "
                    + "decoding options; compact it with jobs/translation-memory compact PATH.")
    String translationMemory;

    /** Spark settings read from the conf file, applied before the session starts. */
    final Map<String, String> sparkConf = new LinkedHashMap<>();

    InputFormat inputFormat() {
        return parseEnum(InputFormat.class, inputFormat, "--input-format");
    }

    io.sparknmt.kernel.WeightFormat weights() {
        return parseEnum(io.sparknmt.kernel.WeightFormat.class, weights, "--weights");
    }

    OutputFormat outputFormat() {
        return parseEnum(OutputFormat.class, outputFormat, "--output-format");
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String value, String option) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + " \"" + value + "\" is not one of "
                    + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(java.util.Locale.ROOT));
        }
    }
}
