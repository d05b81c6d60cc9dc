package io.sparknmt.spark;

import io.sparknmt.decode.ModelBundle;
import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.CorpusWriter;
import io.sparknmt.io.InputFormat;
import io.sparknmt.io.OutputFormat;
import io.sparknmt.io.Schemas;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The batch translation job: {@code jobs/translate} in local mode and {@code spark-submit --class
 * io.sparknmt.spark.TranslateJob} on a cluster take the same options.
 *
 * <p>Exit codes: 0 done; 2 bad arguments; 3 the model cannot be used; 4 the input cannot be
 * read; 5 the share of error rows is above {@code --max-error-rate}; 6 rows out differ from rows
 * in; 7 some input files could not be read (the others are done); 1 anything else (a Spark
 * failure).
 */
@Command(name = "translate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Translate a corpus with a Marian / OPUS-MT model on Spark.",
        footer = {"", "Exit codes: 0 done, 2 bad arguments, 3 model error, 4 input error,",
                "5 error rows above --max-error-rate, 6 rows out != rows in,",
                "7 some input files unreadable (the rest translated), 1 other failure."})
public final class TranslateJob implements java.util.concurrent.Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TranslateJob.class);

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_MODEL = 3;
    public static final int EXIT_INPUT = 4;
    public static final int EXIT_ERROR_RATE = 5;
    public static final int EXIT_ROW_MISMATCH = 6;
    public static final int EXIT_INPUT_FILES = 7;

    @Mixin
    JobOptions opts = new JobOptions();

    /** The summary of the last run in this JVM (for tests and the report). */
    RunSummary summary;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Parses, runs and returns the exit code (never calls System.exit). */
    public static int run(String... args) {
        return run(new TranslateJob(), args);
    }

    static int run(TranslateJob job, String... args) {
        CommandLine cl = new CommandLine(job);
        String conf = ConfFile.locate(args);
        try {
            ConfFile cf = conf == null ? ConfFile.empty() : ConfFile.read(Path.of(conf));
            cl.setDefaultValueProvider(cf);
            cf.copySparkSettings(job.opts.sparkConf);
        } catch (IOException e) {
            System.err.println("cannot read --conf-file " + conf + ": " + e.getMessage());
            return EXIT_USAGE;
        }
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            System.err.println("spark-nmt: " + ex.getMessage());
            LOG.error("job failed", ex);
            return ex instanceof ModelFormatException ? EXIT_MODEL
                    : ex instanceof CorpusReader.InputException ? EXIT_INPUT
                    : ex instanceof IllegalArgumentException ? EXIT_USAGE : EXIT_FAILURE;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws IOException {
        InputFormat inFmt = opts.inputFormat();
        OutputFormat outFmt = opts.outputFormat();
        if (opts.nBest > 1 && (outFmt == OutputFormat.TSV || outFmt == OutputFormat.TEXT || outFmt == OutputFormat.ARROW)) {
            throw new IllegalArgumentException("--n-best " + opts.nBest + " needs --output-format parquet or jsonl");
        }
        if (opts.incremental && (outFmt != OutputFormat.PARQUET && outFmt != OutputFormat.JSONL || inFmt == InputFormat.ARROW)) {
            throw new IllegalArgumentException("--incremental needs --output-format parquet or jsonl and a non-arrow input");
        }
        if (opts.commitEveryFiles < 1) {
            throw new IllegalArgumentException("--commit-every-files must be >= 1, got " + opts.commitEveryFiles);
        }
        long t0 = System.nanoTime();
        ModelBundle bundle = ModelBundle.load(ModelFetcher.localDirectory(opts.model));
        long t1 = System.nanoTime();
        LOG.info("model {} loaded and checked in {} ms ({} parameters)", opts.model, (t1 - t0) / 1_000_000,
                bundle.weights().parameterCount());
        PartitionSettings settings = settings(bundle);

        SparkSession spark = SparkSession.builder().config(sparkConf()).getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        ProgressListener progress = new ProgressListener(10_000);
        spark.sparkContext().addSparkListener(progress);
        // Broadcast: the weights are large and read-only; each executor deserializes them once
        // and all its tasks share that copy (ExecutorModels).
        Broadcast<ModelBundle> model = jsc.broadcast(bundle);
        try {
            Run run = new Run(spark, model, bundle, settings, inFmt, t0);
            RunSummary s = opts.incremental ? run.incremental(outFmt) : run.once(outFmt);
            int code = exitCode(s);
            summary = s.withExitCode(code);
            System.out.println(summary.human());
            if (opts.report != null) {
                Files.writeString(Path.of(opts.report), summary.json());
            }
            return code;
        } finally {
            spark.sparkContext().removeSparkListener(progress);
            ExecutorModels.release(model.id());
            model.destroy();
        }
    }

    private int exitCode(RunSummary s) {
        if (s.rowsOut() != s.rowsIn()) {
            System.err.println("spark-nmt: rows out (" + s.rowsOut() + ") != rows in (" + s.rowsIn() + ")");
            return EXIT_ROW_MISMATCH;
        }
        if (s.inputs().stream().anyMatch(i -> i.outcome().equals("failed"))) {
            System.err.println("spark-nmt: some input files could not be read (see the summary)");
            return EXIT_INPUT_FILES;
        }
        if (s.errorRate() > opts.maxErrorRate) {
            System.err.printf("spark-nmt: %.4f of rows have status error, above --max-error-rate %s%n",
                    s.errorRate(), opts.maxErrorRate);
            return EXIT_ERROR_RATE;
        }
        return EXIT_OK;
    }

    /** One run's moving parts. */
    private final class Run {
        final SparkSession spark;
        final Broadcast<ModelBundle> model;
        final ModelBundle bundle;
        final PartitionSettings settings;
        final InputFormat inFmt;
        final long t0;
        final CorpusReader.Columns columns;
        long translateNanos;
        long rowsIn;
        final Map<String, long[]> byStatus = new TreeMap<>();
        final Map<String, long[]> executors = new TreeMap<>();

        Run(SparkSession spark, Broadcast<ModelBundle> model, ModelBundle bundle, PartitionSettings settings,
            InputFormat inFmt, long t0) {
            this.spark = spark;
            this.model = model;
            this.bundle = bundle;
            this.settings = settings;
            this.inFmt = inFmt;
            this.t0 = t0;
            this.columns = new CorpusReader.Columns(opts.idColumn, opts.textColumn, opts.maxInputBytes);
        }

        /** Translates everything, writes it, and reports. */
        RunSummary once(OutputFormat outFmt) {
            String[] files = CorpusReader.files(spark, opts.input);
            Dataset<Row> input = CorpusReader.read(spark, inFmt, files, columns, false);
            rowsIn += CorpusReader.countRecords(spark, inFmt, files, columns); // raw records, not the parsed rows
            Dataset<Row> translated = translate(input);
            try {
                Map<String, Map<String, long[]>> perFile = stats(translated);
                CorpusWriter.write(translated, outFmt, opts.output, opts.overwrite);
                List<RunSummary.InputReport> inputs = new ArrayList<>();
                for (String f : files) {
                    Map<String, long[]> st = perFile.getOrDefault(f, Map.of());
                    String failure = fileFailure(translated, f, st);
                    inputs.add(new RunSummary.InputReport(f, failure == null ? "translated" : "failed", rowsOf(st), failure));
                }
                return summary(inputs, 0);
            } finally {
                translated.unpersist();
            }
        }

        /**
         * Translates only the input files not done yet for this model and these options, in groups
         * of --commit-every-files; after each group Spark commits its output partitions and then the
         * manifest records the group, so a killed run resumes where its last commit left off.
         */
        RunSummary incremental(OutputFormat outFmt) throws IOException {
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(opts.output);
            org.apache.hadoop.fs.FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.mkdirs(out);
            Manifest manifest = Manifest.read(fs, out);
            String optionsHash = optionsHash();
            List<RunSummary.InputReport> inputs = new ArrayList<>();
            List<Manifest.Entry> pending = new ArrayList<>();
            long skippedRows = 0;
            for (String f : CorpusReader.files(spark, opts.input)) {
                Manifest.Entry now = Manifest.describe(f.startsWith("file:") || f.contains("://") ? fsOf(f) : fs, f);
                Manifest.Entry before = manifest.files.get(f);
                boolean done = before != null && !opts.force && before.sameInput(now) && "done".equals(before.status())
                        && bundle.fingerprint().equals(before.modelFingerprint()) && optionsHash.equals(before.optionsHash());
                if (done) {
                    skippedRows += before.rows();
                    inputs.add(new RunSummary.InputReport(f, "skipped", before.rows(), null));
                } else {
                    pending.add(now);
                }
            }
            LOG.info("incremental run: {} input files to translate, {} already done ({} rows)", pending.size(),
                    inputs.size(), skippedRows);
            String runId = spark.sparkContext().applicationId();
            for (int g = 0; g < pending.size(); g += opts.commitEveryFiles) {
                List<Manifest.Entry> group = pending.subList(g, Math.min(pending.size(), g + opts.commitEveryFiles));
                String[] files = group.stream().map(Manifest.Entry::path).toArray(String[]::new);
                Dataset<Row> input = CorpusReader.read(spark, inFmt, files, columns, true);
                rowsIn += CorpusReader.countRecords(spark, inFmt, files, columns); // raw records, not the parsed rows
                Dataset<Row> translated = translate(input);
                try {
                    Map<String, Map<String, long[]>> perFile = stats(translated);
                    org.apache.spark.sql.Column key = functions.lit(null).cast("string");
                    for (Manifest.Entry e : group) {
                        key = functions.when(functions.col(Schemas.SOURCE_FILE).equalTo(e.path()), e.sourceKey()).otherwise(key);
                    }
                    translated.withColumn("source_key", key).write().mode(org.apache.spark.sql.SaveMode.Overwrite)
                            .option("partitionOverwriteMode", "dynamic").partitionBy("source_key")
                            .format(outFmt == OutputFormat.PARQUET ? "parquet" : "json")
                            .option("ignoreNullFields", "false")
                            .save(new org.apache.hadoop.fs.Path(out, "data").toString());
                    // The output of this group is committed: now, and only now, the manifest says so.
                    for (Manifest.Entry e : group) {
                        Map<String, long[]> st = perFile.getOrDefault(e.path(), Map.of());
                        String failure = fileFailure(translated, e.path(), st);
                        long rows = rowsOf(st);
                        manifest.files.put(e.path(), new Manifest.Entry(e.path(), e.size(), e.mtime(), e.sha256(),
                                bundle.fingerprint(), optionsHash, e.sourceKey(), rows,
                                failure == null ? "done" : "failed", failure, runId));
                        inputs.add(new RunSummary.InputReport(e.path(), failure == null ? "translated" : "failed", rows, failure));
                    }
                    manifest.writeAtomically(fs, out);
                    LOG.info("committed {} of {} pending input files", Math.min(pending.size(), g + group.size()), pending.size());
                } finally {
                    translated.unpersist();
                }
            }
            return summary(inputs, skippedRows);
        }

        private org.apache.hadoop.fs.FileSystem fsOf(String f) throws IOException {
            return new org.apache.hadoop.fs.Path(f).getFileSystem(spark.sparkContext().hadoopConfiguration());
        }

        /** Repartitions, translates (persisted: the statistics and the write read the same rows). */
        Dataset<Row> translate(Dataset<Row> input) {
            int partitions = opts.numPartitions != null ? opts.numPartitions
                    : Math.max(input.rdd().getNumPartitions(), spark.sparkContext().defaultParallelism());
            if (partitions < 1) {
                throw new IllegalArgumentException("--num-partitions must be >= 1, got " + partitions);
            }
            StructType outSchema = Schemas.output(settings.nBest() > 1, settings.emitTokens());
            org.apache.spark.util.CollectionAccumulator<String> taskStats =
                    spark.sparkContext().collectionAccumulator("spark-nmt task stats");
            Dataset<Row> translated = input.repartition(partitions)
                    .mapPartitions(new TranslatePartition(model, settings, taskStats), Encoders.row(outSchema))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            long t = System.nanoTime();
            translated.count(); // translate now, once; later reads hit the persisted rows
            translateNanos += System.nanoTime() - t;
            for (String line : taskStats.value()) {
                String[] p = line.split("\t");
                long[] acc = executors.computeIfAbsent(p[0], k -> new long[2]);
                acc[0] += Long.parseLong(p[1]);
                acc[1] += Long.parseLong(p[2]);
            }
            return translated;
        }

        /** file -> status -> {rows, source tokens, target tokens}; also adds into byStatus. */
        Map<String, Map<String, long[]>> stats(Dataset<Row> translated) {
            Map<String, Map<String, long[]>> perFile = new TreeMap<>();
            for (Row r : translated.groupBy(Schemas.SOURCE_FILE, Schemas.STATUS).agg(functions.count(functions.lit(1)),
                    functions.sum(Schemas.SRC_TOKEN_COUNT), functions.sum(Schemas.TGT_TOKEN_COUNT)).collectAsList()) {
                long[] v = {r.getLong(2), r.isNullAt(3) ? 0 : r.getLong(3), r.isNullAt(4) ? 0 : r.getLong(4)};
                perFile.computeIfAbsent(r.isNullAt(0) ? "" : r.getString(0), k -> new TreeMap<>()).put(r.getString(1), v);
                long[] tot = byStatus.computeIfAbsent(r.getString(1), k -> new long[3]);
                for (int i = 0; i < 3; i++) {
                    tot[i] += v[i];
                }
            }
            return perFile;
        }

        /** The reason a whole file could not be read, or null. */
        String fileFailure(Dataset<Row> translated, String file, Map<String, long[]> st) {
            if (!st.containsKey(TranslatePartition.ERROR)) {
                return null;
            }
            List<Row> r = translated.filter(functions.col(Schemas.SOURCE_FILE).equalTo(file)
                            .and(functions.col(Schemas.MESSAGE).startsWith(Schemas.FILE_ERROR_PREFIX)))
                    .select(Schemas.MESSAGE).limit(1).collectAsList();
            return r.isEmpty() ? null : r.get(0).getString(0);
        }

        long rowsOf(Map<String, long[]> st) {
            return st.values().stream().mapToLong(v -> v[0]).sum();
        }

        RunSummary summary(List<RunSummary.InputReport> inputs, long skippedRows) {
            return new RunSummary(opts.input, opts.output, bundle.fingerprint(), spark.sparkContext().applicationId(),
                    spark.sparkContext().master(), rowsIn, Map.copyOf(byStatus), List.copyOf(inputs), skippedRows,
                    Map.copyOf(executors), translateNanos, System.nanoTime() - t0, 0);
        }

        /** What decides the translations besides the model: a change means new work. */
        String optionsHash() {
            String key = String.join("|", "beam=" + settings.beamSize(), "nbest=" + settings.nBest(),
                    "maxlen=" + settings.maxLength(), "maxin=" + settings.maxInputTokens(),
                    "lang=" + settings.targetLang(), "in=" + inFmt, "id=" + columns.id(), "text=" + columns.text());
            return io.sparknmt.io.Digests.sha256Hex(key, 32);
        }
    }

    private PartitionSettings settings(ModelBundle bundle) {
        int beams = opts.beamSize != null ? opts.beamSize : bundle.generation().numBeams();
        if (beams < 1) {
            throw new IllegalArgumentException("--beam-size must be >= 1, got " + beams);
        }
        if (opts.nBest < 1 || opts.nBest > beams) {
            throw new IllegalArgumentException("--n-best must be between 1 and the beam size " + beams + ", got " + opts.nBest);
        }
        int modelMaxIn = bundle.maxSourceTokens();
        int maxIn = opts.maxInputTokens != null ? opts.maxInputTokens : modelMaxIn;
        if (maxIn < 2 || maxIn > modelMaxIn) {
            throw new IllegalArgumentException("--max-input-tokens must be in [2, " + modelMaxIn + "] for this model, got " + maxIn);
        }
        int positions = bundle.config().maxPositions();
        int maxOut = opts.maxOutputTokens != null ? opts.maxOutputTokens : bundle.generation().maxLength() - 1;
        if (maxOut < 1 || maxOut > positions - 1) {
            throw new IllegalArgumentException("--max-output-tokens must be in [1, " + (positions - 1) + "], got " + maxOut);
        }
        if (opts.targetLang != null) {
            String code = ">>" + opts.targetLang + "<<";
            if (!bundle.hasSourcePiece(code)) {
                throw new IllegalArgumentException("--target-lang " + opts.targetLang + ": " + code
                        + " is not in the model's vocabulary");
            }
        }
        int window = Math.max(opts.maxBatchSentences * 8, 256);
        return new PartitionSettings(beams, opts.nBest, maxOut + 1, maxIn, opts.maxBatchTokens, opts.maxBatchSentences,
                opts.targetLang, window, (long) opts.taskMemoryMb << 20, opts.outputFormat() == OutputFormat.ARROW,
                opts.kernelThreads);
    }

    private SparkConf sparkConf() {
        SparkConf conf = new SparkConf().setAppName("spark-nmt translate");
        for (Map.Entry<String, String> e : opts.sparkConf.entrySet()) {
            if (!conf.contains(e.getKey())) { // spark-submit --conf wins over the conf file
                conf.set(e.getKey(), e.getValue());
            }
        }
        if (opts.master != null) {
            conf.setMaster(opts.master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        return withJobSettings(conf);
    }

    /** The settings every session running this job needs: Kryo with registration, the progress bar. */
    public static SparkConf withJobSettings(SparkConf conf) {
        conf.set("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.set("spark.kryo.registrator", NmtKryoRegistrator.class.getName());
        conf.setIfMissing("spark.kryo.registrationRequired", "true");
        conf.setIfMissing("spark.kryoserializer.buffer.max", "1g");
        conf.setIfMissing("spark.ui.showConsoleProgress", "true");
        conf.setIfMissing("spark.ui.enabled", "false");
        return conf;
    }
}
