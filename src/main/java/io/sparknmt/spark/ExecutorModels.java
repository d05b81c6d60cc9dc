package io.sparknmt.spark;

import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.WeightFormat;
import io.sparknmt.model.ModelBundle;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One translator per executor JVM and broadcast: the first task to need it deserializes the
 * broadcast and packs the weights; every later task of that JVM shares the same immutable copy.
 *
 * <ul>
 *   <li>Tasks lease a translator ({@link #acquire}) and give it back when they complete
 *       ({@link Lease#close}). When a task asks for another broadcast (the next job of a
 *       long-lived executor), the translators of older broadcasts that no running task holds are
 *       closed: their packed weights and native SentencePiece handles do not pile up.</li>
 *   <li>A build that failed (weights that cannot be packed, SentencePiece that will not load)
 *       is remembered, and every later task of this JVM fails at once with the same cause
 *       instead of building it again. A failed fetch of the broadcast is not remembered: it may be
 *       transient.</li>
 * </ul>
 */
final class ExecutorModels {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);

    /** One broadcast's translator (or why it could not be built) and how many tasks hold it. */
    private static final class Entry {
        Translator translator;
        WeightFormat weights;
        RuntimeException failure;
        int leases;
    }

    private static final Map<Long, Entry> CACHE = new HashMap<>();

    private ExecutorModels() {
    }

    /** A task's hold on a translator; closing it (once) gives it back. */
    static final class Lease implements AutoCloseable {
        private final long id;
        private final Translator translator;
        private boolean closed;

        private Lease(long id, Translator translator) {
            this.id = id;
            this.translator = translator;
        }

        Translator translator() {
            return translator;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                synchronized (ExecutorModels.class) {
                    Entry e = CACHE.get(id);
                    if (e != null) {
                        e.leases--;
                    }
                }
            }
        }
    }

    /** The translator of {@code model} for one task; the task closes the lease when it completes. */
    static Lease acquire(Broadcast<ModelBundle> model) {
        return acquire(model, WeightFormat.FLOAT);
    }

    /** As {@link #acquire(Broadcast)}, with the weights kept in {@code weights} (the job's --weights). */
    static synchronized Lease acquire(Broadcast<ModelBundle> model, WeightFormat weights) {
        long id = model.id();
        releaseIdleExcept(id);
        Entry e = CACHE.computeIfAbsent(id, k -> new Entry());
        if (e.translator != null && e.weights != weights) { // one job, one broadcast, one --weights: a bug
            throw new IllegalStateException("broadcast " + id + " was built with --weights " + e.weights.flag()
                    + ", a task asks for " + weights.flag());
        }
        if (e.failure != null) {
            throw new IllegalStateException("the model of broadcast " + id + " could not be built in this executor "
                    + "earlier: " + e.failure.getMessage(), e.failure);
        }
        if (e.translator == null) {
            e.translator = build(model, weights, e);
            e.weights = weights;
        }
        e.leases++;
        return new Lease(id, e.translator);
    }

    private static Translator build(Broadcast<ModelBundle> model, WeightFormat weights, Entry e) {
        long t0 = System.nanoTime();
        ModelBundle bundle = model.value(); // a failed fetch may be transient: not remembered
        long t1 = System.nanoTime();
        Translator tr;
        try {
            tr = Translator.of(bundle, KernelProvider.get(), weights);
        } catch (RuntimeException ex) {
            e.failure = ex; // packing the same weights fails the same way every time
            throw ex;
        }
        long t2 = System.nanoTime();
        String executor = SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
        boolean dropped = dropLocalBroadcast(model.id(), executor);
        LOG.info("spark-nmt: broadcast model {} deserialized once in executor {} (pid {}): {} MB, {} ms to "
                        + "deserialize, {} ms to build with {} kernels, {} weights; {} MB of packed weights resident{}",
                bundle.fingerprint().substring(0, 12), executor, ManagementFactory.getRuntimeMXBean().getPid(),
                bundle.approximateBytes() / (1 << 20), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                KernelProvider.get().name(), weights.flag(), tr.residentBytes() / (1 << 20),
                dropped ? ", the broadcast's float copy dropped" : "");
        return tr;
    }

    /**
     * After the build, the packed weights are the executor's only copy: the block manager's
     * deserialized bundle (the float tensors) and its torrent pieces (their serialized bytes) are
     * removed from this executor, and the master is told, so peers fetch the pieces elsewhere. A
     * later build of the same broadcast (after its translator was closed) fetches it again. On the
     * driver (local mode) nothing is removed: the driver holds the bundle it broadcast anyway, and
     * its block manager is the source of the pieces.
     */
    private static boolean dropLocalBroadcast(long id, String executor) {
        SparkEnv env = SparkEnv.get();
        if (env == null || "driver".equals(executor)) {
            return false;
        }
        try {
            env.blockManager().removeBroadcast(id, true);
            return true;
        } catch (RuntimeException ex) { // the copy stays resident; translations are unaffected
            LOG.warn("spark-nmt: could not drop broadcast {} from executor {} after the build: {}", id, executor,
                    ex.toString());
            return false;
        }
    }

    /** Closes the translators of other broadcasts that no running task holds. */
    private static void releaseIdleExcept(long keep) {
        CACHE.entrySet().removeIf(en -> {
            Entry e = en.getValue();
            if (en.getKey() == keep || e.leases > 0) {
                return false;
            }
            if (e.translator != null) {
                LOG.info("spark-nmt: closing the translator of broadcast {}: a task asked for broadcast {}",
                        en.getKey(), keep);
                e.translator.close();
            }
            return true;
        });
    }

    /** Drops and closes the translator of a finished job (local mode reuses the JVM). */
    static synchronized void release(long broadcastId) {
        Entry e = CACHE.remove(broadcastId);
        if (e != null && e.translator != null) {
            e.translator.close();
        }
    }

    /** Broadcasts with a translator or a remembered failure in this JVM (for tests). */
    static synchronized int cached() {
        return CACHE.size();
    }
}
