package io.sparknmt.spark;

import io.sparknmt.io.Schemas;
import io.sparknmt.model.ModelBundle;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The translation itself, shared by the CLI ({@link TranslationRun#translate}) and the DataFrame API
 * ({@link NmtTranslator#transform}), so the two cannot drift: rows of {@link Schemas#input} in, rows of
 * {@link Schemas#output} out, one per input row, through {@link TranslatePartition}. Lazy and free of
 * actions, so it also runs on a streaming Dataset. (The CLI's default, within-run dedup, is
 * {@link DedupPlan}, batch-only; its rows equal this path's byte for byte.)
 */
final class TranslateStage {
    private TranslateStage() {
    }

    /**
     * @param input      rows of {@link Schemas#input}
     * @param partitions partitions to translate in, or null to keep the input's partitioning (and row order)
     * @param taskStats  one entry per finished task, or null
     * @param rowsDone   rows done, for the progress lines, or null (also tokensDone)
     */
    static Dataset<Row> translate(Dataset<Row> input, Broadcast<ModelBundle> model, PartitionSettings partition,
                                  Integer partitions, CollectionAccumulator<TaskStats> taskStats,
                                  LongAccumulator rowsDone, LongAccumulator tokensDone) {
        StructType outSchema = Schemas.output(input.schema(), partition.nBest() > 1, partition.emitTokens(),
                partition.emitSentences());
        Dataset<Row> in = partitions == null ? input : input.repartition(partitions);
        return in.mapPartitions(new TranslatePartition(model, partition, taskStats, input.schema(), rowsDone, tokensDone), Encoders.row(outSchema));
    }
}
