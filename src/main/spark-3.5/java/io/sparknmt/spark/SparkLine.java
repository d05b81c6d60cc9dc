package io.sparknmt.spark;

import org.apache.spark.SparkConf;

/**
 * Spark 3.5 shim (src/main/spark-3.5): what this Spark line needs that Spark 4 does itself.
 * The Spark 4 twin is in src/main/spark-4.
 */
final class SparkLine {
    /**
     * Spark 3.5's launcher gives executors its --add-opens list but not the Vector API module
     * (Spark 4 adds {@code --add-modules=jdk.incubator.vector} itself): without it executors run
     * the scalar kernels, several times slower. Netty's reflection flag is Arrow's documented
     * requirement on Java 9+, also missing from 3.5's list.
     */
    static final String EXECUTOR_FLAGS = "--add-modules=jdk.incubator.vector -Dio.netty.tryReflectionSetAccessible=true";

    private SparkLine() {
    }

    /** Adds the executor flags in front of spark.executor.extraJavaOptions, unless they are there. */
    static void configure(SparkConf conf) {
        String key = "spark.executor.extraJavaOptions";
        String opts = conf.get(key, "");
        if (!opts.contains("jdk.incubator.vector")) {
            conf.set(key, (EXECUTOR_FLAGS + " " + opts).trim());
        }
    }
}
