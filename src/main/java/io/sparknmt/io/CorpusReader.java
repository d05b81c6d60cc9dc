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
        return read(spark, format, files(spark, path), columns, false);
    }

    /**
     * Reads the given files. {@code idsPerFile}: text line ids count from 0 in each file (stable
     * while other files come and go, as incremental runs need) instead of across all files.
     */
    public static Dataset<Row> read(SparkSession spark, InputFormat format, String[] files, Columns columns,
                                    boolean idsPerFile) {
        String where = String.join(",", files);
        return switch (format) {
            case TEXT -> readText(spark, files, idsPerFile);
            case ARROW -> ArrowTokenFiles.read(spark, files);
            case TSV -> fromFrame(spark.read().option("header", "true").option("sep", "\t").option("quote", "")
                    .option("mode", "PERMISSIVE").csv(files), columns, where);
            case CSV -> fromFrame(spark.read().option("header", "true").option("multiLine", "true")
                    .option("mode", "PERMISSIVE").csv(files), columns, where);
            case JSONL -> fromFrame(spark.read().option("mode", "PERMISSIVE")
                    .option("columnNameOfCorruptRecord", "_corrupt_record").json(files), columns, where);
            case PARQUET -> fromFrame(spark.read().parquet(files), columns, where);
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

    /**
     * Lines of the sorted files, numbered across files (or per file); invalid UTF-8 becomes an
     * error row, and a file that cannot be read to its end (a corrupt archive, an I/O error)
     * ends in one error row naming it, instead of failing the job.
     */
    static Dataset<Row> readText(SparkSession spark, String[] files, boolean idsPerFile) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<JavaRDD<Row>> perFile = new ArrayList<>();
        List<JavaRDD<scala.Tuple2<String, byte[]>>> tagged = new ArrayList<>();
        for (String f : files) {
            JavaRDD<byte[]> lines = jsc.hadoopFile(f, TextInputFormat.class, LongWritable.class, Text.class)
                    .mapPartitions(it -> new GuardedLines(it, f)); // Hadoop reuses Text objects: GuardedLines copies
            if (idsPerFile) {
                perFile.add(lines.zipWithIndex().map(p -> textRow(p._2(), p._1(), f)));
            } else {
                tagged.add(lines.map(b -> new scala.Tuple2<>(f, b)));
            }
        }
        JavaRDD<Row> rows;
        if (idsPerFile) {
            rows = perFile.size() == 1 ? perFile.get(0) : jsc.union(perFile.toArray(JavaRDD[]::new));
        } else {
            // one numbering across the sorted files: the union keeps their order
            JavaRDD<scala.Tuple2<String, byte[]>> all = tagged.size() == 1 ? tagged.get(0)
                    : jsc.union(tagged.toArray(JavaRDD[]::new));
            rows = all.zipWithIndex().map(p -> textRow(p._2(), p._1()._2(), p._1()._1()));
        }
        return spark.createDataFrame(rows, Schemas.INPUT);
    }

    /** Copies each line's bytes; a read failure becomes a final marker line. */
    static final class GuardedLines implements java.util.Iterator<byte[]> {
        static final byte[] FAILURE_MARK = "\u0000spark-nmt-unreadable\u0000".getBytes(StandardCharsets.UTF_8);
        private final java.util.Iterator<scala.Tuple2<LongWritable, Text>> in;
        private final String file;
        private byte[] failure;
        private boolean done;

        GuardedLines(java.util.Iterator<scala.Tuple2<LongWritable, Text>> in, String file) {
            this.in = in;
            this.file = file;
        }

        @Override
        public boolean hasNext() {
            if (done) {
                return false;
            }
            try {
                if (failure == null && in.hasNext()) {
                    return true;
                }
            } catch (Exception e) { // Hadoop's IOExceptions arrive unchecked through Scala
                failure = (new String(FAILURE_MARK, StandardCharsets.UTF_8) + file + ": " + e).getBytes(StandardCharsets.UTF_8);
            }
            return failure != null;
        }

        @Override
        public byte[] next() {
            if (!hasNext()) {
                throw new java.util.NoSuchElementException();
            }
            if (failure != null) {
                done = true;
                return failure;
            }
            try {
                return in.next()._2().copyBytes();
            } catch (Exception e) {
                done = true;
                return (new String(FAILURE_MARK, StandardCharsets.UTF_8) + file + ": " + e).getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    static Row textRow(long id, byte[] bytes, String file) {
        if (startsWith(bytes, GuardedLines.FAILURE_MARK)) {
            String reason = new String(bytes, GuardedLines.FAILURE_MARK.length,
                    bytes.length - GuardedLines.FAILURE_MARK.length, StandardCharsets.UTF_8);
            return RowFactory.create(-1 - id, null, null, Schemas.FILE_ERROR_PREFIX + reason, file);
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return RowFactory.create(id, s, null, null, file);
        } catch (CharacterCodingException e) {
            String lossy = new String(bytes, StandardCharsets.UTF_8);
            return RowFactory.create(id, lossy, null, "line " + id + " is not valid UTF-8 (" + e.getMessage() + ")", file);
        }
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        return true;
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
        Dataset<Row> picked = df.select(rawId.as("raw_id"), text.as("text"), corrupt.as("corrupt"),
                functions.input_file_name().as("file"));
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
            String file = r.isNullAt(3) || r.getString(3).isEmpty() ? null
                    : new Path(java.net.URI.create(r.getString(3))).toString(); // same spelling as files()
            return RowFactory.create(id, source, null, error, file);
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
