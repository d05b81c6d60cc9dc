package io.sparknmt.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Intra-task threads for the linear layers. A thread that opens a group with {@link #open}
 * gets {@code threads - 1} helper threads; every {@link Kernels#linear} it then calls is split by
 * output panels across itself and the helpers, and returns when all parts are done. Nothing is
 * allocated per call: the job is written into the group's fields and the helpers are woken.
 * Results are bitwise the same as on one thread (each output is computed by one thread, with the
 * same FMA chain).
 *
 * <p>In Spark the group spans a task: open it with {@code spark.task.cpus} threads when the task
 * starts and close it when the task completes. Helpers also stop on their own if the thread that
 * opened the group dies without closing it.
 */
public final class KernelThreads implements AutoCloseable {
    private static final ThreadLocal<KernelThreads> CURRENT = new ThreadLocal<>();
    /** Below this many multiply-adds a call is not worth waking helpers for. */
    static final long MIN_PARALLEL_MACS = 1L << 18;

    private final Thread owner;
    private final Helper[] helpers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile boolean closed;
    private volatile Throwable failure;

    // the job of the current call, published to helpers by the volatile write of Helper.seq
    private VectorKernels kernels;
    private float[] x;
    private int xOff;
    private int m;
    private PackedWeight w;
    private float[] bias;
    private float[] y;
    private int yOff;
    private int panels;

    private KernelThreads(int threads) {
        this.owner = Thread.currentThread();
        this.helpers = new Helper[threads - 1];
        for (int i = 0; i < helpers.length; i++) {
            helpers[i] = new Helper(i + 1);
            Thread t = new Thread(helpers[i], owner.getName() + "-kernel-" + (i + 1));
            t.setDaemon(true);
            helpers[i].thread = t;
            t.start();
        }
    }

    /**
     * Gives the calling thread {@code threads} threads for its linear layers until the returned
     * group is closed (1: the calling thread only, nothing is started).
     */
    public static KernelThreads open(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        KernelThreads old = CURRENT.get();
        if (old != null) {
            old.close();
        }
        KernelThreads g = new KernelThreads(threads);
        if (threads > 1) {
            CURRENT.set(g);
        }
        return g;
    }

    /** Threads of the calling thread's open group (1 when none). */
    public static int current() {
        KernelThreads g = CURRENT.get();
        return g == null ? 1 : g.helpers.length + 1;
    }

    static KernelThreads group() {
        return CURRENT.get();
    }

    public int threads() {
        return helpers.length + 1;
    }

    /** Stops the helpers; the opening thread's layers run on it alone again. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Helper h : helpers) {
            LockSupport.unpark(h.thread);
        }
        if (Thread.currentThread() == owner && CURRENT.get() == this) {
            CURRENT.remove();
        }
    }

    /**
     * Runs {@code kernels.linearPanels} over {@code panels} column panels (float, bf16 or int8),
     * split across the group. Owner thread only.
     */
    void linear(VectorKernels kernels, float[] x, int xOff, int m, PackedWeight w, float[] bias, float[] y, int yOff,
                int panels) {
        this.kernels = kernels;
        this.x = x;
        this.xOff = xOff;
        this.m = m;
        this.w = w;
        this.bias = bias;
        this.y = y;
        this.yOff = yOff;
        this.panels = panels;
        failure = null;
        pending.set(helpers.length);
        for (Helper h : helpers) {
            h.seq++;            // volatile write: publishes the job fields above
            LockSupport.unpark(h.thread);
        }
        try {
            kernels.linearPanels(x, xOff, m, w, bias, y, yOff, from(0), from(1));
        } finally {
            // Also when the owner's own part threw: the helpers are still writing into y, and the
            // caller may reuse y (or retry the batch) as soon as this returns.
            for (int spins = 0; pending.get() != 0; spins++) {
                if (spins < 20_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 20_000L);
                }
            }
        }
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException("a kernel thread failed: " + f, f);
        }
    }

    private int from(int part) {
        return (int) ((long) panels * part / (helpers.length + 1));
    }

    private final class Helper implements Runnable {
        private final int part;
        private volatile long seq;
        private long done;
        private Thread thread;

        Helper(int part) {
            this.part = part;
        }

        @Override
        public void run() {
            int idle = 0;
            while (!closed) {
                if (seq != done) {
                    done = seq;
                    idle = 0;
                    try {
                        kernels.linearPanels(x, xOff, m, w, bias, y, yOff, from(part), from(part + 1));
                    } catch (Throwable t) {
                        failure = t;
                    } finally {
                        pending.decrementAndGet();
                    }
                } else if (++idle < 20_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 1_000_000_000L);
                    if (!owner.isAlive()) {
                        return;
                    }
                }
            }
        }
    }
}
