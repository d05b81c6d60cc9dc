package io.sparknmt.spark;

import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.OutputGuard;
import io.sparknmt.io.ReportFiles;
import io.sparknmt.io.UsageException;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.ModelFiles;
import io.sparknmt.tokenizer.MarianTokenizer;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The batch translation job: {@code jobs/translate} in local mode and {@code spark-submit --class
 * io.sparknmt.spark.TranslateJob} on a cluster take the same options. This class is the command
 * line, the Spark session and the exit code; {@link JobSettings} resolves and checks the
 * options, {@link TranslationRun} (and {@link IncrementalRun} on top of it) does the work.
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
        CommandLine cl;
        try {
            cl = commandLine(job, args);
        } catch (IOException e) {
            System.err.println("cannot read --conf-file " + ConfFile.locate(args) + ": " + e.getMessage());
            return EXIT_USAGE;
        }
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            System.err.println("spark-nmt: " + ex.getMessage());
            LOG.error("job failed", ex);
            return exitCodeOf(ex);
        });
        return cl.execute(args);
    }

    /** The command line for {@code job}: option defaults from {@code --conf-file}, whose spark.* settings go to the session. */
    static CommandLine commandLine(TranslateJob job, String[] args) throws IOException {
        CommandLine cl = new CommandLine(job);
        String conf = ConfFile.locate(args);
        ConfFile cf = conf == null ? ConfFile.empty() : ConfFile.read(Path.of(conf));
        cl.setDefaultValueProvider(cf);
        cf.copySparkSettings(job.opts.sparkConf);
        return cl;
    }

    @Override
    public Integer call() throws IOException {
        // Every setting that needs no model is checked here, before the model or any input is read.
        JobSettings settings = new JobSettings(opts);
        // Before the model is loaded: an output that exists, or one that --overwrite must never delete.
        org.apache.hadoop.conf.Configuration hadoop = JobSettings.hadoopConf(sparkConf(settings));
        if (settings.output() != null) { // a table's mode is checked against the catalog (TranslationRun)
            List<String> inputs = settings.input() == null ? List.of(settings.model()) : List.of(settings.input(), settings.model());
            OutputGuard.check(hadoop, settings.output(), settings.overwrite(), settings.incremental(), inputs);
        }
        long t0 = System.nanoTime();
        java.nio.file.Path modelDir = ModelFetcher.localDirectory(settings.model(), hadoop);
        ModelBundle bundle;
        try {
            bundle = loadModel(modelDir, settings.shortlist()); // the bundle holds every byte it needs from here on
        } finally {
            ModelFetcher.release(modelDir);
        }
        long t1 = System.nanoTime();
        LOG.info("model {} loaded and checked in {} ms ({} parameters)", settings.model(), (t1 - t0) / 1_000_000,
                bundle.weights().parameterCount());
        PartitionSettings partition = settings.partitionSettings(bundle);

        SparkSession spark = SparkSession.builder().config(sparkConf(settings)).getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        ProgressListener progress = new ProgressListener(settings.progressIntervalMillis());
        spark.sparkContext().addSparkListener(progress);
        // Broadcast: the weights are large and read-only; each executor deserializes them once
        // and all its tasks share that copy (ExecutorModels).
        Broadcast<ModelBundle> model = jsc.broadcast(bundle);
        try {
            TranslationRun run = new TranslationRun(spark, model, bundle, settings, partition, t0).withProgress(progress);
            RunSummary s = settings.incremental() ? new IncrementalRun(run).run() : run.once();
            int code = exitCode(s, settings.maxErrorRate());
            summary = s.withExitCode(code);
            System.out.println(summary.human());
            if (settings.report() != null) {
                ReportFiles.write(spark.sparkContext().hadoopConfiguration(), settings.report(), summary.json());
            }
            return code;
        } finally {
            spark.sparkContext().removeSparkListener(progress);
            ExecutorModels.release(model.id());
            model.destroy();
        }
    }

    private static int exitCode(RunSummary s, double maxErrorRate) {
        if (s.rowsOut() != s.rowsIn()) {
            System.err.println("spark-nmt: rows out (" + s.rowsOut() + ") != rows in (" + s.rowsIn() + ")");
            return EXIT_ROW_MISMATCH;
        }
        if (s.inputs().stream().anyMatch(i -> i.outcome().equals("failed"))) {
            System.err.println("spark-nmt: some input files could not be read (see the summary)");
            return EXIT_INPUT_FILES;
        }
        if (s.errorRate() > maxErrorRate) {
            System.err.printf("spark-nmt: %.4f of rows have status error, above --max-error-rate %s%n",
                    s.errorRate(), maxErrorRate);
            return EXIT_ERROR_RATE;
        }
        return EXIT_OK;
    }

    /**
     * The exit code of a failure, by the project's own exception types only: a library's
     * {@code IllegalArgumentException} (say a {@code NumberFormatException} from inside Spark) is
     * not a usage error but a failure (1).
     */
    static int exitCodeOf(Throwable ex) {
        return ex instanceof ModelFormatException ? EXIT_MODEL
                : ex instanceof UsageException ? EXIT_USAGE
                : ex instanceof CorpusReader.InputException ? EXIT_INPUT : EXIT_FAILURE;
    }

    /**
     * Loads and checks a model directory on the driver, the tokenizer included: whatever is wrong
     * with it (or with the --shortlist file, null when none) is a {@link ModelFormatException}
     * (exit 3) naming the file, never a failure of every executor task.
     */
    static ModelBundle loadModel(java.nio.file.Path dir) {
        return loadModel(dir, null);
    }

    /** As {@link #loadModel(java.nio.file.Path)}, with the --shortlist file (null: none). */
    static ModelBundle loadModel(java.nio.file.Path dir, String shortlist) {
        ModelBundle bundle = ModelBundle.load(dir);
        MarianTokenizer.check(ModelFiles.of(dir));
        if (shortlist != null) {
            bundle = bundle.withShortlist(java.nio.file.Path.of(shortlist));
            LOG.info("shortlist {}: candidates for {} source tokens, {} target tokens always allowed",
                    shortlist, bundle.shortlist().sources(), bundle.shortlist().alwaysAllowed());
        }
        return bundle;
    }

    private SparkConf sparkConf(JobSettings settings) {
        SparkConf conf = new SparkConf().setAppName("spark-nmt translate");
        for (Map.Entry<String, String> e : opts.sparkConf.entrySet()) {
            if (!conf.contains(e.getKey())) { // spark-submit --conf wins over the conf file
                conf.set(e.getKey(), e.getValue());
            }
        }
        if (settings.master() != null) {
            conf.setMaster(settings.master());
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
        SparkLine.configure(conf); // per Spark line: src/main/spark-*/java
        return conf;
    }
}
