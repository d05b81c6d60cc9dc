package io.sparknmt.spark;

import io.sparknmt.decode.Batches;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelThreads;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.Workspace;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.TaskCompletionListener;

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
        ExecutorModels.Lease lease = ExecutorModels.acquire(model, settings.weights());
        Translator translator = lease.translator();
        TaskContext ctx = TaskContext.get();
        String name = "spark-nmt-task-" + (ctx == null ? "driver" : ctx.taskAttemptId());
        BufferAllocator allocator = ArrowUtils.rootAllocator().newChildAllocator(name, 0, settings.taskMemoryBytes());
        // Activations and KV caches, sized by the first batches and reused by the later ones;
        // the caches are counted against the same allocator as the token batches.
        Workspace workspace = new Workspace(new ArrowMemoryAccount(allocator));
        BatchRunner runner = new BatchRunner(translator, settings.decode(), settings.taskMemoryBytes(), workspace, allocator);
        int threads = settings.kernelThreads() > 0 ? settings.kernelThreads() : ctx == null ? 1 : Math.max(1, ctx.cpus());
        KernelThreads kernelThreads = KernelThreads.open(threads);
        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                // each one closed even if an earlier one throws (the first failure is rethrown, the
                // others suppressed): the helpers, the task's off-heap KV caches and their
                // reservations, then the allocator, which throws if a buffer leaked (a bug)
                try {
                    org.apache.arrow.util.AutoCloseables.close(kernelThreads, workspace, allocator, lease);
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException("closing the task's resources failed", e);
                }
                if (taskStats != null) {
                    String executor = SparkEnv.get() == null ? "driver" : SparkEnv.get().executorId();
                    taskStats.add(new TaskStats(executor, runner.targetTokens(), runner.translateNanos()));
                }
            }
        };
        if (ctx != null) {
            ctx.addTaskCompletionListener((TaskCompletionListener) c -> close.run());
        }
        return new Rows(input, new RowCodec(translator, settings, inputSchema), runner, settings, close, rowsDone, tokensDone);
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
            todo.sort(Comparator.comparingInt(it -> it.ids.length));
            long tokensBefore = runner.targetTokens();
            for (int start = 0; start < todo.size(); ) {
                int end = Batches.end(i -> todo.get(i).ids.length, start, todo.size(),
                        settings.maxBatchSentences(), settings.maxBatchTokens());
                runner.run(todo.subList(start, end));
                start = end;
            }
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
