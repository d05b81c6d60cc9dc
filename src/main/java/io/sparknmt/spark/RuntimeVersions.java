package io.sparknmt.spark;

import scala.util.Properties;

/**
 * The Spark, Scala and Java versions this JVM runs (not those the jar was built against), for
 * the run summary and the JSON report: "spark 3.5.9, scala 2.12.18, java 17.0.15".
 */
public record RuntimeVersions(String spark, String scala, String java) {

    public static RuntimeVersions current() {
        return new RuntimeVersions(org.apache.spark.package$.MODULE$.SPARK_VERSION(),
                Properties.versionNumberString(), System.getProperty("java.version"));
    }

    @Override
    public String toString() {
        return "spark " + spark + ", scala " + scala + ", java " + java;
    }
}
