package io.sparknmt.spark;

import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The per-partition translation, as an iterator with a lifecycle: it opens the task's resources
 * (the executor's shared translator, an Arrow child allocator limited to --task-memory-mb that
 * is also the account of the decoder's off-heap caches, the workspace, the kernel threads),
 * then reads a window of rows, has the {@link RowCodec} turn them into items, cuts the
 * translatable ones into length-sorted batches bounded by tokens and sentences for the
 * {@link BatchRunner}, and emits exactly one output row per input row. A row that cannot be
 * translated becomes a row with status {@code error} and a message; it never fails the task.
 *
 * <p>The resources are closed when the iterator ends and, should the task fail first, by a
 * task-completion listener: whichever comes first, once.
 */
public final class TranslatePartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    // The model is broadcast: it is large, read-only and needed by every task of every executor.
    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    /** One entry per finished task, for per-executor throughput. */
    private final CollectionAccumulator<TaskStats> taskStats;
    /** The input rows' schema ({@link io.sparknmt.io.Schemas#input}): the id's type and the kept columns. */
    private final org.apache.spark.sql.types.StructType inputSchema;

    /** Rows emitted and tokens generated so far, for progress (null: not counted). */
    private final LongAccumulator rowsDone;
    private final LongAccumulator tokensDone;

    TranslatePartition(Broadcast<ModelBundle> model, PartitionSettings settings, CollectionAccumulator<TaskStats> taskStats,
                       org.apache.spark.sql.types.StructType inputSchema) {
        this(model, settings, taskStats, inputSchema, null, null);
    }

    TranslatePartition(Broadcast<ModelBundle> model, PartitionSettings settings, CollectionAccumulator<TaskStats> taskStats,
                       org.apache.spark.sql.types.StructType inputSchema, LongAccumulator rowsDone, LongAccumulator tokensDone) {
        this.model = model;
        this.settings = settings;
        this.taskStats = taskStats;
        this.inputSchema = inputSchema;
        this.rowsDone = rowsDone;
        this.tokensDone = tokensDone;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        TaskResources task = TaskResources.open(model, settings, taskStats);
        return new Rows(input, new RowCodec(task.translator(), settings, inputSchema), task.runner(), settings, task::close,
                rowsDone, tokensDone);
    }

    /** Pulls windows of input, emits their translated rows, closes the task's resources at the end. */
    private static final class Rows implements Iterator<Row> {
        private final Iterator<Row> input;
        private final RowCodec codec;
        private final BatchRunner runner;
        private final PartitionSettings settings;
        private final Runnable close;
        private final LongAccumulator rowsDone;
        private final LongAccumulator tokensDone;
        private Iterator<Row> pending = Collections.emptyIterator();

        Rows(Iterator<Row> input, RowCodec codec, BatchRunner runner, PartitionSettings settings, Runnable close,
             LongAccumulator rowsDone, LongAccumulator tokensDone) {
            this.input = input;
            this.codec = codec;
            this.runner = runner;
            this.settings = settings;
            this.close = close;
            this.rowsDone = rowsDone;
            this.tokensDone = tokensDone;
        }

        @Override
        public boolean hasNext() {
            while (!pending.hasNext()) {
                if (!input.hasNext()) {
                    close.run();
                    return false;
                }
                // a window holds up to windowRows rows, and (documents) up to windowRows sentences or parts
                List<Item> window = new ArrayList<>();
                List<Item> units = new ArrayList<>();
                while (input.hasNext() && window.size() < settings.windowRows() && units.size() < settings.windowRows()) {
                    Item it = codec.read(input.next());
                    window.add(it);
                    it.units(units);
                }
                pending = translateWindow(window).iterator();
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            if (rowsDone != null) {
                rowsDone.add(1);
            }
            return pending.next();
        }

        /**
         * Length-sorts the window's translatable items (rows, or with --split-sentences the sentences of
         * all its rows together), batches them, and writes every row in input order.
         */
        private List<Row> translateWindow(List<Item> items) {
            List<Item> todo = new ArrayList<>();
            for (Item it : items) {
                it.units(todo);
            }
            long tokensBefore = runner.targetTokens();
            TaskResources.translate(todo, runner, settings);
            if (tokensDone != null) {
                tokensDone.add(runner.targetTokens() - tokensBefore);
            }
            List<Row> out = new ArrayList<>(items.size());
            for (Item it : items) {
                out.add(codec.write(it));
            }
            return out;
        }
    }
}
