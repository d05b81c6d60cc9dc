package io.sparknmt.spark;

import io.sparknmt.decode.Batches;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelThreads;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.Workspace;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.TaskCompletionListener;

/**
 * What one translating task holds: the executor's shared translator (a lease), an Arrow child
 * allocator limited to --task-memory-mb that is also the account of the decoder's off-heap
 * caches, the workspace, the kernel threads, and the {@link BatchRunner} over them. Closed once,
 * when the task's iterator ends or, should the task fail first, by a task-completion listener.
 * Used by {@link TranslatePartition} (rows) and {@link TranslateUnits} (distinct units).
 */
final class TaskResources {
    private final ExecutorModels.Lease lease;
    private final BatchRunner runner;
    private final Runnable close;

    private TaskResources(ExecutorModels.Lease lease, BatchRunner runner, Runnable close) {
        this.lease = lease;
        this.runner = runner;
        this.close = close;
    }

    /** Opens the task's resources; {@code taskStats} (may be null) gets one record when they are closed. */
    static TaskResources open(Broadcast<ModelBundle> model, PartitionSettings settings,
                              CollectionAccumulator<TaskStats> taskStats) {
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
        return new TaskResources(lease, runner, close);
    }

    Translator translator() {
        return lease.translator();
    }

    BatchRunner runner() {
        return runner;
    }

    /** Closes everything, once (later calls do nothing). */
    void close() {
        close.run();
    }

    /**
     * Translates {@code items} (all with ids): length-sorted, cut into batches bounded by
     * sentences and padded tokens, each through the runner. The order of {@code items} is kept.
     */
    static void translate(List<Item> items, BatchRunner runner, PartitionSettings settings) {
        List<Item> todo = new ArrayList<>(items);
        todo.sort(Comparator.comparingInt(it -> it.ids.length));
        for (int start = 0; start < todo.size(); ) {
            int end = Batches.end(i -> todo.get(i).ids.length, start, todo.size(),
                    settings.maxBatchSentences(), settings.maxBatchTokens());
            runner.run(todo.subList(start, end));
            start = end;
        }
    }
}
