package io.sparknmt.spark;

import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.CorpusWriter;
import io.sparknmt.io.RowStatus;
import io.sparknmt.io.Schemas;
import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * One run on the driver: read the input, repartition, translate (the partition function on the
 * executors), write, and count per input file and status for the summary. {@link IncrementalRun}
 * drives the same steps per group of files.
 */
final class TranslationRun {
    private static final String ROWS = "rows";
    private static final String SRC = "src";
    private static final String TGT = "tgt";

    final SparkSession spark;
    final ModelBundle bundle;
    final JobSettings settings;
    private final Broadcast<ModelBundle> model;
    private final PartitionSettings partition;
    private final long t0;
    private long translateNanos;
    private long rowsIn;
    private long lastRead;       // rows in of the last read(), for the progress of its translation
    private ProgressListener progress;
    private final Map<String, long[]> byStatus = new TreeMap<>();
    private final Map<String, long[]> executors = new TreeMap<>();
    /** --translation-memory, or null. */
    private final TranslationMemory memory;
    private final long startMillis = System.currentTimeMillis();
    private RunSummary.UnitStats units;
    /** The dedup stages of the last {@link #translate}: their outcomes go to the memory once the output is committed. */
    private DedupPlan pending;

    TranslationRun(SparkSession spark, Broadcast<ModelBundle> model, ModelBundle bundle, JobSettings settings,
                   PartitionSettings partition, long t0) {
        this.spark = spark;
        this.model = model;
        this.bundle = bundle;
        this.settings = settings;
        this.partition = partition;
        this.t0 = t0;
        this.memory = TranslationMemory.of(settings, bundle, spark.sparkContext().hadoopConfiguration());
        this.units = settings.dedup() ? new RunSummary.UnitStats(true, settings.translationMemory(), 0, 0, 0, 0, 0, 0)
                : RunSummary.UnitStats.none(null);
    }

    /** Progress lines of the translations this run starts (the job's listener). */
    TranslationRun withProgress(ProgressListener listener) {
        this.progress = listener;
        return this;
    }

    /** Translates everything, writes it, and reports. */
    RunSummary once() {
        if (settings.outputTable() != null) {
            CorpusWriter.checkTable(spark, settings.outputTable(), settings.outputMode());
        }
        String[] files = settings.inputTable() != null ? new String[]{settings.inputTable()}
                : CorpusReader.files(spark, settings.input());
        Dataset<Row> translated = translate(read(files, false));
        try {
            Map<String, Map<String, long[]>> perFile = stats(translated);
            if (settings.outputTable() != null) {
                CorpusWriter.writeTable(translated, settings.outputTable(), settings.outputMode());
            } else {
                CorpusWriter.write(translated, settings.outputFormat(), settings.output(), settings.overwrite());
            }
            commitMemory(); // the output is committed: now its new translations join the memory
            List<RunSummary.InputReport> inputs = new ArrayList<>();
            for (String f : files) {
                inputs.add(report(translated, f, perFile));
            }
            return summary(inputs, 0);
        } finally {
            release(translated);
        }
    }

    /** The rows of {@code files}; {@code perFileIds}: ids count from 0 in each file (incremental runs). */
    Dataset<Row> read(String[] files, boolean perFileIds) {
        // rows in: the raw records counted apart from the parsed rows, so that a reader losing a row shows
        Dataset<Row> rows;
        if (settings.inputTable() != null) { // files = the table's name, its rows' source_file
            Dataset<Row> table = CorpusReader.table(spark, settings.inputTable());
            lastRead = table.count();
            rows = CorpusReader.fromTable(table, settings.inputTable(), settings.columns());
        } else {
            lastRead = CorpusReader.countRecords(spark, settings.inputFormat(), files, settings.columns());
            rows = CorpusReader.read(spark, settings.inputFormat(), files, settings.columns(), perFileIds);
        }
        rowsIn += lastRead;
        // before any translation: an output format that cannot hold the id's or a kept column's type is exit 2
        CorpusWriter.checkCanHold(settings.outputFormat(), rows.schema());
        return rows;
    }

    /** Repartitions, translates (persisted: the statistics and the write read the same rows). */
    Dataset<Row> translate(Dataset<Row> input) {
        int partitions = settings.numPartitions(input.rdd().getNumPartitions(), spark.sparkContext().defaultParallelism());
        CollectionAccumulator<TaskStats> taskStats = spark.sparkContext().collectionAccumulator("spark-nmt task stats");
        // Named: the Spark UI shows them per task and stage; heartbeats carry running tasks' values.
        LongAccumulator rowsDone = spark.sparkContext().longAccumulator(ProgressListener.ROWS);
        LongAccumulator tokensDone = spark.sparkContext().longAccumulator(ProgressListener.TOKENS);
        if (progress != null) {
            // before the plan is built: with adaptive execution, building it runs its first stages
            progress.track(rowsDone, tokensDone, lastRead);
        }
        Dataset<Row> translated;
        DedupPlan plan = null;
        if (settings.dedup()) {
            // each distinct unit once, joined back to its rows (DedupPlan); the same rows as below
            plan = new DedupPlan(spark, model, partition, taskStats, rowsDone, tokensDone);
            translated = plan.translate(input, partitions, memory == null ? null : memory.lookup(spark));
        } else {
            // the --no-dedup path is NmtTranslator's (TranslateStage: no action, so streams work too)
            translated = TranslateStage.translate(input, model, partition, partitions, taskStats, rowsDone, tokensDone);
        }
        translated = translated.persist(StorageLevel.MEMORY_AND_DISK());
        long t = System.nanoTime();
        try {
            translated.count(); // translate now, once; later reads hit the persisted rows
        } catch (RuntimeException e) {
            if (plan != null) {
                plan.release();
            }
            translated.unpersist();
            throw e;
        } finally {
            if (progress != null) {
                progress.finish();
            }
        }
        translateNanos += System.nanoTime() - t;
        if (plan != null) {
            units = units.plus(plan.stats(settings.translationMemory()));
            pending = plan;
        }
        for (TaskStats ts : taskStats.value()) {
            long[] acc = executors.computeIfAbsent(ts.executor(), k -> new long[2]);
            acc[0] += ts.targetTokens();
            acc[1] += ts.translateNanos();
        }
        return translated;
    }

    /**
     * After the output of the last {@link #translate} is committed: adds the units it decoded to
     * the translation memory (if any), in a run file of its own.
     */
    void commitMemory() {
        if (pending != null && memory != null) {
            long n = memory.add(pending.outcomes, spark.sparkContext().applicationId(), startMillis);
            org.slf4j.LoggerFactory.getLogger(TranslationRun.class).info("translation memory {}: {} new units",
                    memory.directory(), n);
        }
    }

    /** Drops the persisted rows of the last {@link #translate} and what its dedup stages kept. */
    void release(Dataset<Row> translated) {
        translated.unpersist();
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    /** file -> status -> {rows, source tokens, target tokens}; also adds into the run's totals by status. */
    Map<String, Map<String, long[]>> stats(Dataset<Row> translated) {
        Map<String, Map<String, long[]>> perFile = new TreeMap<>();
        for (Row r : translated.groupBy(Schemas.SOURCE_FILE, Schemas.STATUS).agg(functions.count(functions.lit(1)).as(ROWS),
                functions.sum(Schemas.SRC_TOKEN_COUNT).as(SRC), functions.sum(Schemas.TGT_TOKEN_COUNT).as(TGT)).collectAsList()) {
            long[] v = {r.getLong(r.fieldIndex(ROWS)), longOrZero(r, SRC), longOrZero(r, TGT)};
            String file = r.isNullAt(r.fieldIndex(Schemas.SOURCE_FILE)) ? "" : r.getAs(Schemas.SOURCE_FILE);
            String status = r.getAs(Schemas.STATUS);
            perFile.computeIfAbsent(file, k -> new TreeMap<>()).put(status, v);
            long[] tot = byStatus.computeIfAbsent(status, k -> new long[3]);
            for (int i = 0; i < 3; i++) {
                tot[i] += v[i];
            }
        }
        return perFile;
    }

    private static long longOrZero(Row r, String column) {
        int i = r.fieldIndex(column);
        return r.isNullAt(i) ? 0 : r.getLong(i);
    }

    /** What happened to one input file: translated, or failed with the reason. */
    RunSummary.InputReport report(Dataset<Row> translated, String file, Map<String, Map<String, long[]>> perFile) {
        Map<String, long[]> st = perFile.getOrDefault(file, Map.of());
        String failure = fileFailure(translated, file, st);
        return new RunSummary.InputReport(file, failure == null ? "translated" : "failed", rowsOf(st), failure);
    }

    /** The reason a whole file could not be read, or null. */
    String fileFailure(Dataset<Row> translated, String file, Map<String, long[]> st) {
        if (!st.containsKey(RowStatus.ERROR.value())) {
            return null;
        }
        List<Row> r = translated.filter(functions.col(Schemas.SOURCE_FILE).equalTo(file)
                        .and(functions.col(Schemas.MESSAGE).startsWith(Schemas.FILE_ERROR_PREFIX)))
                .select(Schemas.MESSAGE).limit(1).collectAsList();
        return r.isEmpty() ? null : r.get(0).getString(0);
    }

    static long rowsOf(Map<String, long[]> st) {
        return st.values().stream().mapToLong(v -> v[0]).sum();
    }

    RunSummary summary(List<RunSummary.InputReport> inputs, long skippedRows) {
        return new RunSummary(settings.inputName(), settings.outputName(), bundle.fingerprint(), spark.sparkContext().applicationId(),
                spark.sparkContext().master(), rowsIn, Map.copyOf(byStatus), List.copyOf(inputs), skippedRows,
                Map.copyOf(executors), translateNanos, System.nanoTime() - t0, 0, units);
    }
}
