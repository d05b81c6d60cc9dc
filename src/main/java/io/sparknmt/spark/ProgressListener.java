package io.sparknmt.spark;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs the translation's progress with an ETA, at most every {@code intervalMillis}: the
 * translation stages are recognised by their partition function, whose partitions hold about
 * the same number of rows (round-robin repartition), so done tasks / all tasks estimates done
 * rows / all rows.
 */
final class ProgressListener extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);
    private final long intervalMillis;
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private volatile int stageId = -1;
    private volatile long start;
    private volatile long lastLog;

    ProgressListener(long intervalMillis) {
        this.intervalMillis = intervalMillis;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
        String details = e.stageInfo().details();
        if (details != null && details.contains("mapPartitions") && stageId < 0) {
            stageId = e.stageInfo().stageId();
            total.set(e.stageInfo().numTasks());
            done.set(0);
            start = System.currentTimeMillis();
            lastLog = start;
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        if (e.stageId() != stageId || !"Success".equals(e.reason().toString())) {
            return;
        }
        int d = done.incrementAndGet();
        int t = total.get();
        long now = System.currentTimeMillis();
        if (d == t) {
            LOG.info("progress: {}/{} partitions translated in {} s", d, t, (now - start) / 1000);
            stageId = -1;
        } else if (now - lastLog >= intervalMillis) {
            lastLog = now;
            long elapsed = now - start;
            long eta = d == 0 ? -1 : elapsed * (t - d) / d / 1000;
            LOG.info("progress: {}/{} partitions ({}%), {} s elapsed, ETA {} s", d, t, 100 * d / t, elapsed / 1000, eta);
        }
    }
}
