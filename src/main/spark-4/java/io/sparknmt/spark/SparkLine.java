package io.sparknmt.spark;

import org.apache.spark.SparkConf;

/**
 * Spark 4 shim (src/main/spark-4): nothing to add. Spark 4's launcher already gives executors
 * {@code --add-modules=jdk.incubator.vector} and the --add-opens list. The Spark 3.5 twin is in
 * src/main/spark-3.5.
 */
final class SparkLine {
    private SparkLine() {
    }

    static void configure(SparkConf conf) {
        // Spark 4 needs nothing here.
    }
}
