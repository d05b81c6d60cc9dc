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
 * in; 1 anything else (a Spark failure).
 */
@Command(name = "translate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Translate a corpus with a Marian / OPUS-MT model on Spark.",
        footer = {"", "Exit codes: 0 done, 2 bad arguments, 3 model error, 4 input error,",
                "5 error rows above --max-error-rate, 6 rows out != rows in, 1 other failure."})
public final class TranslateJob implements java.util.concurrent.Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TranslateJob.class);

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_MODEL = 3;
    public static final int EXIT_INPUT = 4;
    public static final int EXIT_ERROR_RATE = 5;
    public static final int EXIT_ROW_MISMATCH = 6;

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
        long t0 = System.nanoTime();
        ModelBundle bundle = ModelBundle.load(ModelFetcher.localDirectory(opts.model));
        long t1 = System.nanoTime();
        LOG.info("model {} loaded and checked in {} ms ({} parameters)", opts.model, (t1 - t0) / 1_000_000,
                bundle.weights().parameterCount());
        PartitionSettings settings = settings(bundle);

        SparkSession spark = SparkSession.builder().config(sparkConf()).getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // Broadcast: the weights are large and read-only; each executor deserializes them once
        // and all its tasks share that copy (ExecutorModels).
        Broadcast<ModelBundle> model = jsc.broadcast(bundle);
        try {
            return translate(spark, model, bundle, settings, inFmt, outFmt, t0);
        } finally {
            ExecutorModels.release(model.id());
            model.destroy();
        }
    }

    private int translate(SparkSession spark, Broadcast<ModelBundle> model, ModelBundle bundle,
                          PartitionSettings settings, InputFormat inFmt, OutputFormat outFmt, long t0) throws IOException {
        Dataset<Row> input = CorpusReader.read(spark, inFmt, opts.input,
                new CorpusReader.Columns(opts.idColumn, opts.textColumn));
        int partitions = opts.numPartitions != null ? opts.numPartitions
                : Math.max(input.rdd().getNumPartitions(), spark.sparkContext().defaultParallelism());
        if (partitions < 1) {
            throw new IllegalArgumentException("--num-partitions must be >= 1, got " + partitions);
        }
        StructType outSchema = Schemas.output(settings.nBest() > 1, settings.emitTokens());
        Dataset<Row> translated = input.repartition(partitions)
                .mapPartitions(new TranslatePartition(model, settings), Encoders.row(outSchema))
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long rowsIn = input.count();
            long tTranslate = System.nanoTime();
            Map<String, long[]> byStatus = new TreeMap<>();
            for (Row r : translated.groupBy(Schemas.STATUS).agg(functions.count(functions.lit(1)),
                    functions.sum(Schemas.SRC_TOKEN_COUNT), functions.sum(Schemas.TGT_TOKEN_COUNT)).collectAsList()) {
                byStatus.put(r.getString(0), new long[]{r.getLong(1), r.isNullAt(2) ? 0 : r.getLong(2),
                        r.isNullAt(3) ? 0 : r.getLong(3)});
            }
            long translateNanos = System.nanoTime() - tTranslate;
            CorpusWriter.write(translated, outFmt, opts.output, opts.overwrite);
            long wallNanos = System.nanoTime() - t0;
            summary = RunSummary.of(opts.input, opts.output, bundle.fingerprint(), spark.sparkContext().applicationId(),
                    spark.sparkContext().master(), rowsIn, byStatus, translateNanos, wallNanos);
            System.out.println(summary.human());
            if (opts.report != null) {
                Files.writeString(Path.of(opts.report), summary.json());
            }
            if (summary.rowsOut() != rowsIn) {
                System.err.println("spark-nmt: rows out (" + summary.rowsOut() + ") != rows in (" + rowsIn + ")");
                return EXIT_ROW_MISMATCH;
            }
            if (summary.errorRate() > opts.maxErrorRate) {
                System.err.printf("spark-nmt: %.4f of rows have status error, above --max-error-rate %s%n",
                        summary.errorRate(), opts.maxErrorRate);
                return EXIT_ERROR_RATE;
            }
            return EXIT_OK;
        } finally {
            translated.unpersist();
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
                opts.targetLang, window, (long) opts.taskMemoryMb << 20, opts.outputFormat() == OutputFormat.ARROW);
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
