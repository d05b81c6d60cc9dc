package io.sparknmt.spark;

import io.sparknmt.io.Schemas;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The translation memory ({@code --translation-memory PATH}): the outcomes of earlier runs, on any
 * Hadoop FileSystem, as parquet under {@code PATH/<model fingerprint>/<options hash>/run-*}, each
 * row one unit ({@link #SCHEMA}: its key, translation, score, status, target tokens and ids, the
 * decoding time it took, when it was first seen, and the exact translation as {@link Units#encode}
 * wrote it). A different model or other decoding options is another directory, never read.
 *
 * <p>Writers never share a file: a run writes its new units to {@code _tmp-<id>} (ignored by
 * readers, like every name starting with {@code _}) and renames the directory to
 * {@code run-<time>-<id>} when complete, after its output is committed. Readers take the union of
 * the {@code run-*} directories, one entry per key (the first seen). {@link #compact} merges them
 * into one the same way, then deletes the ones it merged; a reader that listed a deleted one
 * ignores its missing files (the entries are in the merged one it also sees, or lists again).
 *
 * <p>{@code spark-submit --class io.sparknmt.spark.TranslationMemory APP.jar compact PATH} (or
 * {@code jobs/translation-memory compact PATH}) compacts every model and options directory under PATH.
 */
public final class TranslationMemory {
    private static final Logger LOG = LoggerFactory.getLogger(TranslationMemory.class);
    static final String RUN_PREFIX = "run-";
    static final String FIRST_SEEN = "first_seen";
    /** Lookups retried when a compaction removed a listed directory between the listing and the read. */
    private static final int ATTEMPTS = 3;

    static final StructType SCHEMA = new StructType(new StructField[]{
            DataTypes.createStructField(Units.KEY, DataTypes.StringType, false),
            DataTypes.createStructField(Schemas.TRANSLATION, DataTypes.StringType, true),
            DataTypes.createStructField(Schemas.SCORE, DataTypes.DoubleType, true),
            DataTypes.createStructField(Schemas.STATUS, DataTypes.StringType, true),
            DataTypes.createStructField(Schemas.TGT_TOKEN_COUNT, DataTypes.IntegerType, true),
            DataTypes.createStructField(Schemas.TOKENS, Schemas.INT_LIST, true),
            DataTypes.createStructField(Units.DECODE_NANOS, DataTypes.LongType, false),
            DataTypes.createStructField(FIRST_SEEN, DataTypes.TimestampType, false),
            DataTypes.createStructField(Units.RESULT, DataTypes.BinaryType, false)});

    private final Path dir;
    private final Configuration conf;

    /** The memory at {@code root} for one model and one options hash. */
    TranslationMemory(String root, String modelFingerprint, String optionsHash, Configuration conf) {
        this.dir = new Path(new Path(new Path(root), modelFingerprint), optionsHash);
        this.conf = conf;
    }

    /** The memory of {@code --translation-memory} for this model and these options, or null when none is set. */
    static TranslationMemory of(JobSettings settings, io.sparknmt.model.ModelBundle bundle, Configuration conf) {
        return settings.translationMemory() == null ? null : new TranslationMemory(settings.translationMemory(),
                bundle.fingerprint(), settings.memoryOptionsHash(bundle), conf);
    }

    Path directory() {
        return dir;
    }

    /** The {@code run-*} directories of {@code dir}, sorted by name. */
    static List<Path> runs(FileSystem fs, Path dir) throws IOException {
        if (!fs.exists(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        for (FileStatus st : fs.listStatus(dir)) {
            if (st.getPath().getName().startsWith(RUN_PREFIX)) {
                out.add(st.getPath());
            }
        }
        out.sort(null);
        return out;
    }

    /** The entries, one per key, with the columns {@link DedupPlan} joins; null when the memory has none yet. */
    Dataset<Row> lookup(SparkSession spark) {
        for (int attempt = 1; ; attempt++) {
            try {
                List<Path> runs = runs(dir.getFileSystem(conf), dir);
                if (runs.isEmpty()) {
                    return null;
                }
                Dataset<Row> all = read(spark, runs);
                // every entry of a key holds the same translation (same model, same options); take the first seen
                return firstPerKey(all).select(Units.KEY, Units.RESULT, Units.DECODE_NANOS, Schemas.TRANSLATION,
                        Schemas.SCORE, Schemas.STATUS, Schemas.TGT_TOKEN_COUNT, Schemas.TOKENS);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list the translation memory " + dir + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                if (attempt >= ATTEMPTS || !isMissingPath(e)) {
                    throw e;
                }
                LOG.info("translation memory {}: a directory went away while listing (compaction); listing again", dir);
            }
        }
    }

    private static boolean isMissingPath(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.FileNotFoundException
                    || t instanceof AnalysisException && String.valueOf(t.getMessage()).contains("not exist")) {
                return true;
            }
        }
        return false;
    }

    private static Dataset<Row> read(SparkSession spark, List<Path> runs) {
        return spark.read().schema(SCHEMA).option("ignoreMissingFiles", "true")
                .parquet(runs.stream().map(Path::toString).toArray(String[]::new));
    }

    private static Dataset<Row> firstPerKey(Dataset<Row> all) {
        List<Column> fields = new ArrayList<>();
        for (String f : SCHEMA.fieldNames()) {
            if (!f.equals(Units.KEY)) {
                fields.add(functions.col(f));
            }
        }
        Column entry = functions.struct(fields.toArray(Column[]::new));
        // min over (first_seen, the entry): the earliest, ties broken by value, the same on every reader
        Dataset<Row> one = all.groupBy(Units.KEY).agg(functions.min(functions.struct(functions.col(FIRST_SEEN),
                entry.as("e"))).as("m"));
        List<Column> cols = new ArrayList<>();
        cols.add(functions.col(Units.KEY));
        for (String f : SCHEMA.fieldNames()) {
            if (!f.equals(Units.KEY)) {
                cols.add(functions.col("m.e." + f).as(f));
            }
        }
        return one.select(cols.toArray(Column[]::new));
    }

    /**
     * Adds the units this run decoded ({@link Units#OUTCOME} rows not reused, with a translation) as
     * one new {@code run-*} directory, complete or not at all. Call it after the run's output is
     * committed. Returns the entries added.
     */
    long add(Dataset<Row> outcomes, String runId, long firstSeenMillis) {
        Dataset<Row> fresh = outcomes.filter(functions.not(functions.col(Units.REUSED))
                        .and(functions.col(Units.RESULT).isNotNull()))
                .select(functions.col(Units.KEY), functions.col(Schemas.TRANSLATION), functions.col(Schemas.SCORE),
                        functions.col(Schemas.STATUS), functions.col(Schemas.TGT_TOKEN_COUNT), functions.col(Schemas.TOKENS),
                        functions.col(Units.DECODE_NANOS),
                        functions.lit(new Timestamp(firstSeenMillis)).as(FIRST_SEEN), functions.col(Units.RESULT));
        long n = fresh.count();
        if (n == 0) {
            return 0;
        }
        writeAtomically(fresh, dir, runId);
        return n;
    }

    /** Writes {@code rows} to {@code dir/_tmp-*}, then renames it to a new {@code run-*} directory. */
    private static Path writeAtomically(Dataset<Row> rows, Path dir, String runId) {
        String id = safe(runId) + "-" + UUID.randomUUID();
        Path tmp = new Path(dir, "_tmp-" + id);
        Path done = new Path(dir, RUN_PREFIX + String.format("%013d", System.currentTimeMillis()) + "-" + id);
        rows.write().mode(SaveMode.ErrorIfExists).parquet(tmp.toString());
        try {
            FileSystem fs = dir.getFileSystem(rows.sparkSession().sparkContext().hadoopConfiguration());
            if (!fs.rename(tmp, done)) {
                throw new IOException("rename " + tmp + " -> " + done + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot add to the translation memory " + dir + ": " + e.getMessage(), e);
        }
        return done;
    }

    private static String safe(String s) {
        return s == null ? "run" : s.replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    /**
     * Merges the {@code run-*} directories of every model and options directory under {@code root}
     * into one per directory (one entry per key), then deletes the merged ones. Safe while runs
     * read and write the memory: a run's new directory, written after the listing, is kept for the
     * next compaction. Returns the directories merged.
     */
    public static int compact(SparkSession spark, String root) throws IOException {
        Path r = new Path(root);
        FileSystem fs = r.getFileSystem(spark.sparkContext().hadoopConfiguration());
        int merged = 0;
        if (!fs.exists(r)) {
            return 0;
        }
        for (FileStatus model : fs.listStatus(r)) {
            if (!model.isDirectory() || model.getPath().getName().startsWith("_") || model.getPath().getName().startsWith(".")) {
                continue;
            }
            for (FileStatus options : fs.listStatus(model.getPath())) {
                if (!options.isDirectory()) {
                    continue;
                }
                List<Path> runs = runs(fs, options.getPath());
                if (runs.size() < 2) {
                    continue;
                }
                Dataset<Row> one = firstPerKey(read(spark, runs)).select(SCHEMA.fieldNames()[0],
                        Arrays.copyOfRange(SCHEMA.fieldNames(), 1, SCHEMA.size()));
                Path done = writeAtomically(one, options.getPath(), "compact");
                for (Path p : runs) {
                    fs.delete(p, true);
                }
                merged += runs.size();
                LOG.info("translation memory {}: {} run directories merged into {}", options.getPath(), runs.size(),
                        done.getName());
            }
        }
        return merged;
    }

    /** {@code compact PATH [--master URL]}: compacts the translation memory at PATH. */
    public static void main(String[] args) throws IOException {
        if (args.length < 2 || !args[0].equals("compact")) {
            System.err.println("usage: TranslationMemory compact PATH [--master URL]");
            System.exit(TranslateJob.EXIT_USAGE);
        }
        SparkConf conf = new SparkConf().setAppName("spark-nmt translation-memory compact");
        if (args.length >= 4 && args[2].equals("--master")) {
            conf.setMaster(args[3]);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        SparkSession spark = SparkSession.builder().config(TranslateJob.withJobSettings(conf)).getOrCreate();
        try {
            int n = compact(spark, args[1]);
            System.out.println("translation memory " + args[1] + ": " + n + " run directories merged");
        } finally {
            spark.stop();
        }
    }
}
