package io.sparknmt.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.TextInputFormat;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads a corpus into rows of {@link Schemas#INPUT}: exactly one row per input record. Records
 * that cannot be read (invalid UTF-8, malformed JSON, a missing id) become rows with an
 * {@code input_error}, so nothing disappears on the way in.
 */
public final class CorpusReader {
    private CorpusReader() {
    }

    /** Options of the record formats. */
    public record Columns(String id, String text) {
    }

    public static Dataset<Row> read(SparkSession spark, InputFormat format, String path, Columns columns) {
        return switch (format) {
            case TEXT -> readText(spark, path);
            case ARROW -> ArrowTokenFiles.read(spark, path);
            case TSV -> fromFrame(spark.read().option("header", "true").option("sep", "\t").option("quote", "")
                    .option("mode", "PERMISSIVE").csv(files(spark, path)), columns, path);
            case CSV -> fromFrame(spark.read().option("header", "true").option("multiLine", "true")
                    .option("mode", "PERMISSIVE").csv(files(spark, path)), columns, path);
            case JSONL -> fromFrame(spark.read().option("mode", "PERMISSIVE")
                    .option("columnNameOfCorruptRecord", "_corrupt_record").json(files(spark, path)), columns, path);
            case PARQUET -> fromFrame(spark.read().parquet(files(spark, path)), columns, path);
        };
    }

    /**
     * The input files of a path, glob or directory, sorted by path (hidden files, {@code _*} and
     * {@code .*}, skipped). An input that matches nothing is an error.
     */
    public static String[] files(SparkSession spark, String path) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matched = fs.globStatus(p);
            if (matched == null || matched.length == 0) {
                throw new InputException("input " + path + " does not exist or matches no file");
            }
            List<String> out = new ArrayList<>();
            for (FileStatus st : matched) {
                if (st.isDirectory()) {
                    for (FileStatus child : fs.listStatus(st.getPath())) {
                        if (child.isFile() && visible(child.getPath())) {
                            out.add(child.getPath().toString());
                        }
                    }
                } else if (visible(st.getPath())) {
                    out.add(st.getPath().toString());
                }
            }
            if (out.isEmpty()) {
                throw new InputException("input " + path + " holds no data file");
            }
            out.sort(null);
            return out.toArray(String[]::new);
        } catch (IOException e) {
            throw new InputException("input " + path + ": " + e.getMessage(), e);
        }
    }

    private static boolean visible(Path p) {
        String n = p.getName();
        return !n.startsWith("_") && !n.startsWith(".");
    }

    /** Lines of the sorted files, numbered across files; invalid UTF-8 becomes an error row. */
    static Dataset<Row> readText(SparkSession spark, String path) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<JavaRDD<byte[]>> parts = new ArrayList<>();
        for (String f : files(spark, path)) {
            parts.add(jsc.hadoopFile(f, TextInputFormat.class, LongWritable.class, Text.class)
                    .map(t -> t._2().copyBytes())); // Hadoop reuses Text objects: copy
        }
        JavaRDD<byte[]> lines = parts.size() == 1 ? parts.get(0) : jsc.union(parts.toArray(JavaRDD[]::new));
        JavaRDD<Row> rows = lines.zipWithIndex().map(p -> textRow(p._2(), p._1()));
        return spark.createDataFrame(rows, Schemas.INPUT);
    }

    static Row textRow(long id, byte[] bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return RowFactory.create(id, s, null, null);
        } catch (CharacterCodingException e) {
            String lossy = new String(bytes, StandardCharsets.UTF_8);
            return RowFactory.create(id, lossy, null, "line " + id + " is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    /** Record formats: picks the id and text columns; null or non-integer ids get an error row. */
    static Dataset<Row> fromFrame(Dataset<Row> df, Columns columns, String path) {
        List<String> names = Arrays.asList(df.columns());
        if (!names.contains(columns.text())) {
            throw new InputException("input " + path + " has no text column \"" + columns.text() + "\" (columns: "
                    + names + "); set --text-column");
        }
        boolean hasId = names.contains(columns.id());
        boolean hasCorrupt = names.contains("_corrupt_record");
        Column text = functions.col(columns.text()).cast(DataTypes.StringType);
        Column corrupt = hasCorrupt ? functions.col("_corrupt_record") : functions.lit(null).cast(DataTypes.StringType);
        Column rawId = hasId ? functions.col(columns.id()).cast(DataTypes.StringType) : functions.lit(null).cast(DataTypes.StringType);
        Dataset<Row> picked = df.select(rawId.as("raw_id"), text.as("text"), corrupt.as("corrupt"));
        boolean generate = !hasId;
        String idName = columns.id();
        JavaRDD<Row> rows = picked.javaRDD().zipWithIndex().map(p -> {
            Row r = p._1();
            long index = p._2();
            String rawIdValue = r.isNullAt(0) ? null : r.getString(0);
            String source = r.isNullAt(1) ? null : r.getString(1);
            String error = null;
            if (!r.isNullAt(2)) {
                String c = r.getString(2);
                error = "record " + index + " is malformed: " + (c.length() > 200 ? c.substring(0, 200) + "..." : c);
                source = null;
            }
            long id;
            if (generate) {
                id = index;
            } else {
                Long parsed = parseId(rawIdValue);
                if (parsed == null) {
                    id = -1 - index;
                    if (error == null) {
                        error = "record " + index + ": id column \"" + idName + "\" is "
                                + (rawIdValue == null ? "missing" : "not an integer: " + rawIdValue)
                                + " (reported with id " + id + ")";
                    }
                } else {
                    id = parsed;
                }
            }
            return RowFactory.create(id, source, null, error);
        });
        return df.sparkSession().createDataFrame(rows, Schemas.INPUT);
    }

    private static Long parseId(String s) {
        if (s == null) {
            return null;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** An input that cannot be read as a whole (missing path, no text column). */
    public static final class InputException extends RuntimeException {
        public InputException(String message) {
            super(message);
        }

        public InputException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
