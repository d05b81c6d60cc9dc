package io.sparknmt.io;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.functions;
import java.util.List;

/** Writes translated rows in the chosen format; Spark's output committer makes it appear whole or not at all. */
public final class CorpusWriter {
    private CorpusWriter() {
    }

    /**
     * Refuses, before anything is translated, an output format that cannot hold the input's columns
     * ({@link Schemas#input}): Arrow output needs long ids; TSV cannot hold binary, array, map or struct
     * columns. (Text output holds the translations only: no column to hold.)
     */
    public static void checkCanHold(OutputFormat format, org.apache.spark.sql.types.StructType input) {
        org.apache.spark.sql.types.DataType id = input.apply(Schemas.ID).dataType();
        if (format == OutputFormat.ARROW && !id.equals(org.apache.spark.sql.types.DataTypes.LongType)) {
            throw new UsageException("--output-format arrow holds int64 ids, but the input's ids are "
                    + id.simpleString() + "; use parquet or jsonl");
        }
        if (format == OutputFormat.TSV) {
            List<String> bad = new java.util.ArrayList<>();
            for (org.apache.spark.sql.types.StructField f : input.fields()) {
                if (f.name().equals(Schemas.SOURCE_TOKENS)) {
                    continue;
                }
                if (!flat(f.dataType())) {
                    bad.add(f.name() + " (" + f.dataType().simpleString() + ")");
                }
            }
            if (!bad.isEmpty()) {
                throw new UsageException("--output-format tsv cannot hold the input columns " + bad
                        + "; use parquet or jsonl, or leave them out with --keep-columns");
            }
        }
    }

    private static boolean flat(org.apache.spark.sql.types.DataType t) {
        return !(t instanceof org.apache.spark.sql.types.ArrayType || t instanceof org.apache.spark.sql.types.MapType
                || t instanceof org.apache.spark.sql.types.StructType || t instanceof org.apache.spark.sql.types.BinaryType);
    }

    /** Before anything is translated: {@code error-if-exists} and a table that exists is a usage error (exit 2). */
    public static void checkTable(org.apache.spark.sql.SparkSession spark, String table, SaveMode mode) {
        if (mode == SaveMode.ErrorIfExists && spark.catalog().tableExists(table)) {
            throw new UsageException("output table " + table + " already exists (--output-mode append or overwrite)");
        }
    }

    /** Writes the rows as the parquet output into a table of the session's catalog ({@code saveAsTable}, columns by name). */
    public static void writeTable(Dataset<Row> rows, String table, SaveMode mode) {
        rows.drop(Schemas.RECORD).write().mode(mode).format("parquet").saveAsTable(table);
    }

    public static void write(Dataset<Row> rows, OutputFormat format, String output, boolean overwrite) {
        SaveMode mode = overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists;
        Dataset<Row> all = rows;
        rows = rows.drop(Schemas.RECORD); // the internal row key is not written
        switch (format) {
            case PARQUET -> rows.write().mode(mode).parquet(output);
            case JSONL -> rows.write().mode(mode).option("ignoreNullFields", "false").json(output);
            case TSV -> rows.select(flatColumns(rows)).write().mode(mode)
                    .option("sep", "\t").option("header", "true").option("nullValue", "").csv(output);
            case TEXT -> all.repartition(1).sortWithinPartitions(Schemas.RECORD)
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
        rows.drop(Schemas.RECORD).withColumn(keyColumn, key).write().mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic").partitionBy(keyColumn)
                .format(format == OutputFormat.PARQUET ? "parquet" : "json")
                .option("ignoreNullFields", "false")
                .save(output);
    }

    private static Column[] flatColumns(Dataset<Row> rows) {
        return java.util.Arrays.stream(rows.columns())
                .filter(c -> !c.equals(Schemas.N_BEST) && !c.equals(Schemas.TOKENS) && !c.equals(Schemas.SENTENCES))
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
