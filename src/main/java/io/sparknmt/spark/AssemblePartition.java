package io.sparknmt.spark;

import io.sparknmt.io.RowStatus;
import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.util.TaskCompletionListener;

/**
 * The last stage of the dedup path, zipped with the same repartitioned input partition that
 * {@link UnitRequests} read: the outcomes of this partition's distinct units (routed here, one
 * per key) are looked up by key; each row goes through {@link RowCodec#read} again (the
 * tokenizer is cheap next to the decoder, and the rows need not be kept in between), its units
 * get their translation or failure, and {@link RowCodec#write} makes the output row exactly as
 * {@link TranslatePartition} would. The rows never leave their partition: the output has the
 * partitions of --no-dedup.
 */
final class AssemblePartition implements FlatMapFunction2<Iterator<Row>, Iterator<byte[]>, Row> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    private final org.apache.spark.sql.types.StructType inputSchema;
    /** Progress: rows whose units the translate stage did not count (documents: every row); may be null. */
    private final org.apache.spark.util.LongAccumulator rowsDone;

    AssemblePartition(Broadcast<ModelBundle> model, PartitionSettings settings, org.apache.spark.sql.types.StructType inputSchema,
                      org.apache.spark.util.LongAccumulator rowsDone) {
        this.model = model;
        this.settings = settings;
        this.inputSchema = inputSchema;
        this.rowsDone = rowsDone;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input, Iterator<byte[]> routed) {
        // bounded by this partition's distinct units
        Map<String, Units.Outcome> outcomes = new HashMap<>();
        while (routed.hasNext()) {
            Units.Outcome o = Units.Outcome.of(routed.next());
            outcomes.put(o.key(), o);
        }
        ExecutorModels.Lease lease = ExecutorModels.acquire(model, settings.weights());
        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                lease.close();
            }
        };
        TaskContext ctx = TaskContext.get();
        if (ctx != null) {
            ctx.addTaskCompletionListener((TaskCompletionListener) c -> close.run());
        }
        RowCodec codec = new RowCodec(lease.translator(), settings, inputSchema);
        List<Item> units = new ArrayList<>();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean more = input.hasNext();
                if (!more) {
                    close.run();
                }
                return more;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Item it = codec.read(input.next());
                units.clear();
                Units.of(it, units);
                if (rowsDone != null && (settings.splitSentences() || units.isEmpty())) {
                    rowsDone.add(1);
                }
                for (Item u : units) {
                    fill(u, outcomes.get(Units.key(u.ids)));
                }
                return codec.write(it);
            }
        };
    }

    /** A unit's outcome into its item: the translation, or the failure of its batch. */
    static void fill(Item unit, Units.Outcome o) {
        if (o == null) {
            unit.fail(RowStatus.ERROR, "no translation came back for this source (internal error)");
        } else if (o.translation() != null) {
            unit.translation = o.translation();
        } else {
            unit.fail(o.failStatus(), o.failMessage());
        }
    }
}
