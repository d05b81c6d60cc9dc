package io.sparknmt.kernel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the kernel implementation once per JVM, in the manner of Lucene's vectorization
 * provider: the Vector API path when the {@code jdk.incubator.vector} module is readable (start
 * the JVM with {@code --add-modules=jdk.incubator.vector}), otherwise the scalar path. Logs which
 * path is active. {@code -Dspark.nmt.kernels=scalar} forces the scalar path.
 */
public final class KernelProvider {

    private static final Logger LOG = LoggerFactory.getLogger(KernelProvider.class);
    private static final Kernels INSTANCE = choose();

    private KernelProvider() {
    }

    /** The kernels this JVM runs. */
    public static Kernels get() {
        return INSTANCE;
    }

    /** The plain-loop twin, for tests and for {@code -Dspark.nmt.kernels=scalar}. */
    public static Kernels scalar() {
        return new ScalarKernels();
    }

    private static Kernels choose() {
        String forced = System.getProperty("spark.nmt.kernels", "auto");
        if ("scalar".equals(forced)) {
            LOG.info("spark-nmt kernels: scalar (forced by -Dspark.nmt.kernels=scalar)");
            return new ScalarKernels();
        }
        boolean present = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (!present) {
            LOG.warn("spark-nmt kernels: scalar; the Vector API module is absent "
                    + "(add --add-modules=jdk.incubator.vector to the JVM options for the fast path)");
            return new ScalarKernels();
        }
        try {
            Kernels k = (Kernels) Class.forName("io.sparknmt.kernel.VectorKernels")
                    .getDeclaredConstructor().newInstance();
            LOG.info("spark-nmt kernels: {} on Java {}", k.name(), Runtime.version().feature());
            return k;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.warn("spark-nmt kernels: scalar; the Vector API path failed to load: {}", e.toString());
            return new ScalarKernels();
        }
    }
}
