package io.sparknmt.spark;

import io.sparknmt.io.Schemas;
import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * Translate each distinct unit once (on by default; {@code --no-dedup} is {@link TranslatePartition}
 * alone). The stages, each a Spark stage with no collect to the driver:
 *
 * <ol>
 *   <li><b>encode and distinct</b> ({@link UnitRequests}): the input repartitioned as --no-dedup
 *       does, each row through {@link RowCodec#read} into its units, one record per distinct key
 *       and partition; then a group by key with partial aggregation: a hot key sends at most one
 *       record per map partition and ends as one row with the list of partitions that need it;</li>
 *   <li><b>memory</b> (with --translation-memory): a left join of the distinct units with the
 *       memory's entries for this model and these options; the found ones are not decoded;</li>
 *   <li><b>translate</b>: the remaining units spread evenly ({@code repartition(n)}, which adaptive
 *       execution does not coalesce), each decoded once ({@link TranslateUnits});</li>
 *   <li><b>route and assemble</b>: each outcome goes to the partitions of its list (one copy per
 *       partition: a hot key costs one record per partition, never its rows), and each partition
 *       of the same repartitioned input (its shuffle is not run again) is zipped with its
 *       outcomes ({@link AssemblePartition}: read again, fill the units, write).</li>
 * </ol>
 *
 * No row is ever shuffled by its key, so no task holds more rows than the round-robin
 * repartition gives it, whatever the skew; and the output has --no-dedup's partitions and order.
 */
final class DedupPlan {
    private static final String MEMORY_KEY = "memory_key";
    private final SparkSession spark;
    private final Broadcast<ModelBundle> model;
    private final PartitionSettings partition;
    private final CollectionAccumulator<TaskStats> taskStats;
    private final LongAccumulator rowsDone;
    private final LongAccumulator tokensDone;
    /** Persist the outcomes (for {@link #stats} and the memory), or compute them as the output is read. */
    private final boolean keepOutcomes;

    /** What the last {@link #translate} left for the summary and the memory. */
    Dataset<Row> outcomes;
    LongAccumulator decoded;

    DedupPlan(SparkSession spark, Broadcast<ModelBundle> model, PartitionSettings partition,
              CollectionAccumulator<TaskStats> taskStats, LongAccumulator rowsDone, LongAccumulator tokensDone) {
        this(spark, model, partition, taskStats, rowsDone, tokensDone, true);
    }

    DedupPlan(SparkSession spark, Broadcast<ModelBundle> model, PartitionSettings partition,
              CollectionAccumulator<TaskStats> taskStats, LongAccumulator rowsDone, LongAccumulator tokensDone,
              boolean keepOutcomes) {
        this.keepOutcomes = keepOutcomes;
        this.spark = spark;
        this.model = model;
        this.partition = partition;
        this.taskStats = taskStats;
        this.rowsDone = rowsDone;
        this.tokensDone = tokensDone;
    }

    /**
     * The output rows of {@code input} in {@code partitions} partitions (not yet computed);
     * {@code memory} (or null): the translation memory's entries to reuse ({@link TranslationMemory#lookup}).
     * With {@code partitions} null, the input's own partitions and row order are kept; the input is then
     * computed twice (the requests, then the assembly), so it must give the same rows both times.
     */
    Dataset<Row> translate(Dataset<Row> input, Integer partitions, Dataset<Row> memory) {
        // one RDD, read twice (the requests, then the assembly): the repartition's shuffle runs once
        JavaRDD<Row> rows = (partitions == null ? input : input.repartition(partitions)).javaRDD();
        int spread = partitions != null ? partitions : Math.max(rows.getNumPartitions(), spark.sparkContext().defaultParallelism());
        Dataset<Row> distinct = spark.createDataFrame(rows.mapPartitions(new UnitRequests(model, partition, input.schema())), Units.REQUEST)
                .groupBy(Units.KEY)
                .agg(functions.first(Units.IDS).as(Units.IDS), functions.collect_list(Units.PART).as(Units.PARTS),
                        functions.sum(Units.OCCURRENCES).as(Units.OCCURRENCES));
        Dataset<Row> reused = null;
        if (memory != null) {
            Dataset<Row> known = memory.withColumnRenamed(Units.KEY, MEMORY_KEY);
            Dataset<Row> joined = distinct.join(known, distinct.col(Units.KEY).equalTo(known.col(MEMORY_KEY)),
                    "left_outer").drop(MEMORY_KEY);
            reused = joined.filter(functions.col(Units.RESULT).isNotNull()).select(
                    functions.col(Units.KEY), functions.col(Units.PARTS), functions.col(Units.OCCURRENCES),
                    functions.col(Units.RESULT), functions.lit(null).cast("string").as(Units.FAIL_STATUS),
                    functions.lit(null).cast("string").as(Units.FAIL_MESSAGE), functions.col(Units.DECODE_NANOS),
                    functions.lit(true).as(Units.REUSED), functions.col(Schemas.TRANSLATION),
                    functions.col(Schemas.SCORE), functions.col(Schemas.STATUS),
                    functions.col(Schemas.TGT_TOKEN_COUNT), functions.col(Schemas.TOKENS));
            distinct = joined.filter(functions.col(Units.RESULT).isNull())
                    .select(Units.KEY, Units.IDS, Units.PARTS, Units.OCCURRENCES);
        }
        decoded = spark.sparkContext().longAccumulator("spark-nmt units decoded");
        Dataset<Row> translated = distinct.repartition(spread)
                .mapPartitions(new TranslateUnits(model, partition, taskStats, decoded, rowsDone, tokensDone), Encoders.row(Units.OUTCOME));
        outcomes = reused == null ? translated : translated.unionByName(reused);
        if (keepOutcomes) {
            outcomes = outcomes.persist(StorageLevel.MEMORY_AND_DISK());
        }

        JavaPairRDD<Integer, byte[]> routed = outcomes.javaRDD().flatMapToPair(new Route())
                .partitionBy(new ExactPartitioner(rows.getNumPartitions()));
        JavaRDD<Row> out = rows.zipPartitions(routed.values(), new AssemblePartition(model, partition, input.schema(), rowsDone));
        return spark.createDataFrame(out, Schemas.output(input.schema(), partition.nBest() > 1, partition.emitTokens(),
                partition.emitSentences()));
    }

    /** The counts of the last {@link #translate} (its outcomes computed), for the run summary. */
    RunSummary.UnitStats stats(String memoryPath) {
        org.apache.spark.sql.Column reusedCol = functions.col(Units.REUSED);
        org.apache.spark.sql.Column occ = functions.col(Units.OCCURRENCES);
        org.apache.spark.sql.Column nanos = functions.col(Units.DECODE_NANOS);
        Row r = outcomes.agg(functions.count(functions.lit(1)), functions.sum(occ),
                functions.sum(functions.when(reusedCol, 1L).otherwise(0L)),
                functions.sum(functions.when(reusedCol, 0L).otherwise(nanos.multiply(occ.minus(1L)))),
                functions.sum(functions.when(reusedCol, nanos.multiply(occ)).otherwise(0L))).first();
        return new RunSummary.UnitStats(true, memoryPath, longOf(r, 1), r.getLong(0), decoded.value(), longOf(r, 2),
                longOf(r, 3), longOf(r, 4));
    }

    private static long longOf(Row r, int i) {
        return r.isNullAt(i) ? 0 : ((Number) r.get(i)).longValue();
    }

    /** Drops what {@link #translate} persisted. */
    void release() {
        if (outcomes != null && keepOutcomes) {
            outcomes.unpersist();
        }
    }

    /** An outcome, once for each input partition that holds its key. */
    static final class Route implements PairFlatMapFunction<Row, Integer, byte[]> {
        private static final long serialVersionUID = 1L;

        // by position in Units.OUTCOME: rows straight from TranslateUnits (outcomes not persisted) carry no schema
        private static final int KEY = Units.OUTCOME.fieldIndex(Units.KEY);
        private static final int RESULT = Units.OUTCOME.fieldIndex(Units.RESULT);
        private static final int FAIL_STATUS = Units.OUTCOME.fieldIndex(Units.FAIL_STATUS);
        private static final int FAIL_MESSAGE = Units.OUTCOME.fieldIndex(Units.FAIL_MESSAGE);
        private static final int PARTS = Units.OUTCOME.fieldIndex(Units.PARTS);

        @Override
        public Iterator<Tuple2<Integer, byte[]>> call(Row r) {
            byte[] v = Units.routed(r.getString(KEY), r.isNullAt(RESULT) ? null : (byte[]) r.get(RESULT),
                    r.getString(FAIL_STATUS), r.getString(FAIL_MESSAGE));
            List<Integer> parts = r.getList(PARTS);
            List<Tuple2<Integer, byte[]>> out = new ArrayList<>(parts.size());
            for (int p : parts) {
                out.add(new Tuple2<>(p, v));
            }
            return out.iterator();
        }
    }

    /** Partition {@code p} for key {@code p}: the outcomes of input partition p land in partition p. */
    static final class ExactPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int n;

        ExactPartitioner(int n) {
            this.n = n;
        }

        @Override
        public int numPartitions() {
            return n;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ExactPartitioner e && e.n == n;
        }

        @Override
        public int hashCode() {
            return n;
        }
    }
}
