package io.sparknmt.spark;

import io.sparknmt.model.ModelBundle;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelProvider;
import java.lang.management.ManagementFactory;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One translator per executor JVM and broadcast: the first task to need it deserializes the
 * broadcast and packs the weights; every later task of that JVM shares the same immutable copy.
 */
final class ExecutorModels {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
    private static final ConcurrentHashMap<Long, Translator> CACHE = new ConcurrentHashMap<>();

    private ExecutorModels() {
    }

    static Translator get(Broadcast<ModelBundle> model) {
        return CACHE.computeIfAbsent(model.id(), id -> {
            long t0 = System.nanoTime();
            ModelBundle bundle = model.value();
            long t1 = System.nanoTime();
            Translator tr = Translator.of(bundle, KernelProvider.get());
            long t2 = System.nanoTime();
            String executor = SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
            LOG.info("spark-nmt: broadcast model {} deserialized once in executor {} (pid {}): {} MB, {} ms to "
                            + "deserialize, {} ms to build with {} kernels",
                    bundle.fingerprint().substring(0, 12), executor, ManagementFactory.getRuntimeMXBean().getPid(),
                    bundle.approximateBytes() / (1 << 20), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                    KernelProvider.get().name());
            return tr;
        });
    }

    /** Drops and closes the translators of a finished job (local mode reuses the JVM). */
    static void release(long broadcastId) {
        Translator tr = CACHE.remove(broadcastId);
        if (tr != null) {
            tr.close();
        }
    }
}
