package io.sparknmt.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The translation's progress, in rows, while tasks run: every task counts the rows it has emitted
 * and the tokens it has generated in two named accumulators (so the Spark UI shows them too);
 * executors send running tasks' current values with their heartbeats
 * ({@code spark.executor.heartbeatInterval}, 10 s by default), finished tasks send their final
 * ones. Done = finished tasks' rows + running tasks' latest rows (a failed attempt's rows are
 * dropped: its retry counts them again). At most every {@code interval} this logs rows done /
 * total, tokens/s and an ETA; attached to a terminal it also redraws a progress bar on stderr.
 */
final class ProgressListener extends SparkListener {
    static final String ROWS = "spark-nmt rows translated";
    static final String TOKENS = "spark-nmt target tokens";
    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);

    private final long intervalMillis;
    private final boolean terminal;
    private final Consumer<String> out;
    private final Map<Long, long[]> running = new ConcurrentHashMap<>(); // task id -> {rows, tokens}
    private final AtomicLong doneRows = new AtomicLong();
    private final AtomicLong doneTokens = new AtomicLong();
    private volatile long rowsId = -1;
    private volatile long tokensId = -1;
    private volatile long total;
    private volatile long start;
    private volatile long lastLog;

    /**
     * @param intervalMillis least time between two progress lines
     * @param out            where a line goes (the log, or a test's list)
     */
    ProgressListener(long intervalMillis, Consumer<String> out) {
        this.intervalMillis = intervalMillis;
        this.out = out;
        this.terminal = System.console() != null;
    }

    ProgressListener(long intervalMillis) {
        this(intervalMillis, LOG::info);
    }

    /** The accumulators of the next translation, and the rows it will translate. */
    synchronized void track(LongAccumulator rows, LongAccumulator tokens, long totalRows) {
        rowsId = rows.id();
        tokensId = tokens.id();
        total = totalRows;
        running.clear();
        doneRows.set(0);
        doneTokens.set(0);
        start = System.currentTimeMillis();
        lastLog = start;
    }

    /** Running tasks' current values, from an executor's heartbeat. */
    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate e) {
        if (rowsId < 0) {
            return;
        }
        var updates = e.accumUpdates().iterator();
        boolean any = false;
        while (updates.hasNext()) {
            var u = updates.next(); // (task id, stage id, stage attempt, accumulator updates)
            long[] v = values(u._4().iterator());
            if (v != null) {
                running.put((Long) u._1(), v);
                any = true;
            }
        }
        if (any) {
            maybeLog();
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        if (rowsId < 0 || e.taskInfo() == null) {
            return;
        }
        long task = e.taskInfo().taskId();
        long[] v = values(e.taskInfo().accumulables().iterator());
        running.remove(task);
        if (v != null && e.taskInfo().successful()) {
            doneRows.addAndGet(v[0]);
            doneTokens.addAndGet(v[1]);
            maybeLog();
        }
    }

    /** {rows, tokens} of one task's updates, or null when they hold neither accumulator. */
    private long[] values(scala.collection.Iterator<AccumulableInfo> infos) {
        long[] v = null;
        while (infos.hasNext()) {
            AccumulableInfo a = infos.next();
            int slot = a.id() == rowsId ? 0 : a.id() == tokensId ? 1 : -1;
            if (slot >= 0 && a.update().isDefined()) {
                if (v == null) {
                    v = new long[2];
                }
                v[slot] = ((Number) a.update().get()).longValue();
            }
        }
        return v;
    }

    /** Rows done so far: finished tasks plus the latest values of the running ones. */
    long rowsDone() {
        long rows = doneRows.get();
        for (long[] v : running.values()) {
            rows += v[0];
        }
        return rows;
    }

    private void maybeLog() {
        long now = System.currentTimeMillis();
        synchronized (this) {
            if (now - lastLog < intervalMillis) {
                return;
            }
            lastLog = now;
        }
        long rows = rowsDone();
        long tokens = doneTokens.get();
        for (long[] v : running.values()) {
            tokens += v[1];
        }
        double secs = Math.max(1e-3, (now - start) / 1000.0);
        long t = Math.max(total, rows);
        String eta = rows == 0 ? "unknown" : String.format("%.0f s", (t - rows) * secs / rows);
        String line = String.format("progress: %,d/%,d rows (%d%%), %.0f tokens/s, %.0f s elapsed, ETA %s",
                rows, t, t == 0 ? 100 : 100 * rows / t, tokens / secs, secs, eta);
        out.accept(line);
        if (terminal) {
            int width = 30;
            int filled = t == 0 ? width : (int) (width * rows / t);
            System.err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + line.substring(10) + "   ");
            System.err.flush();
        }
    }

    /** The line that closes a translation (always logged). */
    void finish() {
        if (rowsId < 0) {
            return;
        }
        double secs = Math.max(1e-3, (System.currentTimeMillis() - start) / 1000.0);
        if (terminal) {
            System.err.println();
        }
        out.accept(String.format("progress: %,d rows translated in %.0f s (%.0f tokens/s)",
                doneRows.get(), secs, doneTokens.get() / secs));
        rowsId = -1;
    }
}
