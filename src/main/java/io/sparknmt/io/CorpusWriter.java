package io.sparknmt.io;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.functions;

/** Writes translated rows in the chosen format; Spark's output committer makes it appear whole or not at all. */
public final class CorpusWriter {
    private CorpusWriter() {
    }

    public static void write(Dataset<Row> rows, OutputFormat format, String output, boolean overwrite) {
        SaveMode mode = overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists;
        switch (format) {
            case PARQUET -> rows.write().mode(mode).parquet(output);
            case JSONL -> rows.write().mode(mode).option("ignoreNullFields", "false").json(output);
            case TSV -> rows.select(flatColumns(rows)).write().mode(mode)
                    .option("sep", "\t").option("header", "true").option("nullValue", "").csv(output);
            case TEXT -> rows.repartition(1).sortWithinPartitions(Schemas.ID)
                    .select(functions.regexp_replace(functions.coalesce(functions.col(Schemas.TRANSLATION),
                            functions.lit("")), "[\\r\\n]+", " "))
                    .write().mode(mode).text(output);
            case ARROW -> {
                prepareDirectory(rows, output, overwrite);
                ArrowTokenFiles.write(rows, output);
                touchSuccess(rows, output);
            }
        }
    }

    /**
     * Writes {@code rows} partitioned by input file: the partition of file {@code f} is
     * {@code output/<keyColumn>=<keys.get(f)>}, replaced as a whole (dynamic partition overwrite)
     * and left alone for files not in {@code keys}. Spark commits the partitions together; the
     * caller records them (the manifest) only after this returns.
     *
     * @param format parquet or jsonl
     * @param keys   input file ({@link Schemas#SOURCE_FILE}) -> its partition value
     */
    public static void writePartitioned(Dataset<Row> rows, OutputFormat format, String output, String keyColumn,
                                        java.util.Map<String, String> keys) {
        if (format != OutputFormat.PARQUET && format != OutputFormat.JSONL) {
            throw new IllegalArgumentException("partitioned output needs parquet or jsonl, got " + format);
        }
        Column key = functions.lit(null).cast("string");
        for (java.util.Map.Entry<String, String> e : keys.entrySet()) {
            key = functions.when(functions.col(Schemas.SOURCE_FILE).equalTo(e.getKey()), e.getValue()).otherwise(key);
        }
        rows.withColumn(keyColumn, key).write().mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic").partitionBy(keyColumn)
                .format(format == OutputFormat.PARQUET ? "parquet" : "json")
                .option("ignoreNullFields", "false")
                .save(output);
    }

    private static Column[] flatColumns(Dataset<Row> rows) {
        return java.util.Arrays.stream(rows.columns())
                .filter(c -> !c.equals(Schemas.N_BEST) && !c.equals(Schemas.TOKENS))
                .map(functions::col).toArray(Column[]::new);
    }

    private static void prepareDirectory(Dataset<Row> rows, String output, boolean overwrite) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
            var fs = p.getFileSystem(rows.sparkSession().sparkContext().hadoopConfiguration());
            if (fs.exists(p)) {
                if (!overwrite) {
                    throw new IllegalStateException("output " + output + " already exists (use --overwrite)");
                }
                fs.delete(p, true);
            }
            fs.mkdirs(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void touchSuccess(Dataset<Row> rows, String output) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output, "_SUCCESS");
            p.getFileSystem(rows.sparkSession().sparkContext().hadoopConfiguration()).create(p, true).close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
