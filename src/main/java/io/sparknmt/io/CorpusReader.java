package io.sparknmt.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Reads a corpus into rows of {@link Schemas#INPUT}: exactly one row per raw input record.
 * Records that cannot be read (invalid UTF-8, malformed JSON or CSV, a missing id, a record over
 * {@code --max-input-bytes}) become rows with an {@code input_error} naming file and line, and a
 * file that cannot be read to its end ends in one error row naming it, so nothing disappears on
 * the way in.
 *
 * <p>Text, TSV, CSV, JSONL and Arrow files are read by this project's own record readers
 * ({@link RawRecords}, {@link ArrowTokenFiles}) over Hadoop FileSystem streams, one Spark
 * partition per file in sorted path order, so that record boundaries, numbering and the byte
 * cap are the project's and not a Spark data source's. Ids that are not in the input (text line
 * numbers, record numbers of JSONL/CSV/TSV without an id column) follow that file order: files
 * sorted by path, records in file order. {@link #countRecords} counts the raw records again,
 * without the parsing, for the rows-in check.
 */
public final class CorpusReader {
    private CorpusReader() {
    }

    /** Default of {@code --max-input-bytes}: 1 MiB, sized for documents, not only sentences. */
    public static final int DEFAULT_MAX_INPUT_BYTES = 1 << 20;
    /** Bytes of an over-long record kept in the {@code source} column. */
    static final int PREFIX_BYTES = 1024;
    /**
     * Test-only fault injection: the reader drops the row of this 0-based record number of the first file, so
     * that a test can see the rows-in check catch a reader that loses a row.
     */
    public static final String TEST_DROP_RECORD = "spark-nmt.test.drop-record";

    /** Options of the record formats: id and text columns, and the byte cap of one record. */
    public record Columns(String id, String text, long maxInputBytes) implements java.io.Serializable {
        public Columns {
            if (maxInputBytes < 1 || maxInputBytes > (1L << 30)) {
                throw new IllegalArgumentException("--max-input-bytes must be in [1, " + (1L << 30) + "], got " + maxInputBytes);
            }
        }

        public Columns(String id, String text) {
            this(id, text, DEFAULT_MAX_INPUT_BYTES);
        }

        int cap() {
            return (int) maxInputBytes;
        }
    }

    public static Dataset<Row> read(SparkSession spark, InputFormat format, String path, Columns columns) {
        return read(spark, format, files(spark, path), columns, false);
    }

    /**
     * Reads the given files. {@code idsPerFile}: ids not taken from the input (text line numbers,
     * record numbers) count from 0 in each file (stable while other files come and go, as
     * incremental runs need) instead of across all files.
     */
    public static Dataset<Row> read(SparkSession spark, InputFormat format, String[] files, Columns columns,
                                    boolean idsPerFile) {
        if (format == InputFormat.PARQUET) {
            return fromFrame(spark.read().parquet(files), columns, String.join(",", files));
        }
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        int[][] headers = format == InputFormat.CSV || format == InputFormat.TSV
                ? headers(hadoop, format, files, columns) : null;
        boolean csvHasId = headers != null && Arrays.stream(headers).anyMatch(h -> h != null && h[0] >= 0);
        SerializableConfiguration conf = new SerializableConfiguration(hadoop);
        JavaRDD<Integer> perFile = slices(spark, files);
        int cap = columns.cap();
        Columns cols = columns;
        // Pass 1: records per file and whether ids / texts occur (JSONL decides its columns from the data).
        StructType statSchema = new StructType().add("file", DataTypes.IntegerType).add("records", DataTypes.LongType)
                .add("ids", DataTypes.BooleanType).add("texts", DataTypes.BooleanType).add("objects", DataTypes.BooleanType);
        JavaRDD<Row> statRows = perFile.map(i -> {
            long n = 0;
            boolean ids = false;
            boolean texts = false;
            boolean objects = false;
            try (Records it = new Records(files[i], format, conf.value(), cols, headers == null ? null : headers[i])) {
                while (it.hasNext()) {
                    Rec r = it.next();
                    n++;
                    ids |= r.idField;
                    texts |= r.textField;
                    objects |= r.parsed;
                }
            }
            return RowFactory.create(i, n, ids, texts, objects);
        });
        long[] offsets = new long[files.length];
        boolean anyId = csvHasId;
        boolean anyText = false;
        boolean anyObject = false;
        long total = 0;
        List<Row> stats = new ArrayList<>(spark.createDataFrame(statRows, statSchema).collectAsList());
        stats.sort((a, b) -> Integer.compare(a.getInt(0), b.getInt(0)));
        for (Row s : stats) {
            offsets[s.getInt(0)] = idsPerFile ? 0 : total;
            total += s.getLong(1);
            anyId |= s.getBoolean(2);
            anyText |= s.getBoolean(3);
            anyObject |= s.getBoolean(4);
        }
        if (format == InputFormat.JSONL && anyObject && !anyText) {
            throw new InputException("input " + String.join(",", files) + " has no text field \"" + columns.text()
                    + "\" in any record; set --text-column");
        }
        boolean ids = anyId;
        String drop = System.getProperty(TEST_DROP_RECORD);
        long dropIndex = drop == null ? -1 : Long.parseLong(drop.trim());
        String idName = columns.id();
        // Pass 2: the rows, numbered in file order.
        JavaRDD<Row> rows = perFile.mapPartitions(it -> {
            if (!it.hasNext()) {
                return java.util.Collections.emptyIterator();
            }
            int i = it.next();
            Records recs = new Records(files[i], format, conf.value(), cols, headers == null ? null : headers[i]);
            TaskContext tc = TaskContext.get();
            if (tc != null) {
                tc.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> recs.close());
            }
            long base = offsets[i];
            return new Iterator<Row>() {
                long n = -1;
                Row ahead;

                @Override
                public boolean hasNext() {
                    while (ahead == null && recs.hasNext()) {
                        Rec r = recs.next();
                        n++;
                        long index = base + n;
                        if (i == 0 && n == dropIndex) {
                            continue; // the test-only fault: this row is lost on purpose
                        }
                        ahead = r.toRow(index, ids, idName, files[i]);
                    }
                    if (ahead == null) {
                        recs.close();
                    }
                    return ahead != null;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Row r = ahead;
                    ahead = null;
                    return r;
                }
            };
        }, true);
        return spark.createDataFrame(rows, Schemas.INPUT);
    }

    /**
     * The raw records of the input, counted from the files again (without parsing): text and JSONL
     * lines, TSV lines after the header, CSV records after the header (a quoted field may span
     * lines), Arrow rows; a file that cannot be read to its end adds one for its failure; Parquet
     * rows from Parquet. This is "rows in": a reader that loses a row shows as rows out != rows in.
     */
    public static long countRecords(SparkSession spark, InputFormat format, String[] files, Columns columns) {
        if (format == InputFormat.PARQUET) {
            return spark.read().parquet(files).count();
        }
        SerializableConfiguration conf = new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
        int cap = columns.cap();
        boolean header = format == InputFormat.CSV || format == InputFormat.TSV;
        StructType schema = new StructType().add("records", DataTypes.LongType);
        JavaRDD<Row> counts = slices(spark, files).map(i -> {
            long n = 0;
            if (format == InputFormat.ARROW) {
                n = ArrowTokenFiles.countRows(files[i], conf.value());
            } else {
                try (RawRecords raw = new RawRecords(files[i], format, conf.value(), cap)) {
                    RawRecords.Raw r = raw.next();
                    boolean skip = header && r != null && r.failure() == null;
                    for (; r != null; r = raw.next()) {
                        n++;
                    }
                    if (skip) {
                        n--;
                    }
                }
            }
            return RowFactory.create(n);
        });
        long total = 0;
        for (Row r : spark.createDataFrame(counts, schema).collectAsList()) {
            total += r.getLong(0);
        }
        return total;
    }

    /** One partition per file, partition i reading files[i]. */
    private static JavaRDD<Integer> slices(SparkSession spark, String[] files) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < files.length; i++) {
            idx.add(i);
        }
        return jsc.parallelize(idx, Math.max(1, files.length));
    }

    /**
     * The header of each CSV/TSV file, read on the driver: {id column, text column, fields}, or
     * null for a file that is empty or cannot be read (its reader reports it). A header without
     * the text column is an input error (exit 4).
     */
    static int[][] headers(Configuration conf, InputFormat format, String[] files, Columns columns) {
        int[][] out = new int[files.length][];
        for (int i = 0; i < files.length; i++) {
            try (RawRecords raw = new RawRecords(files[i], format, conf, columns.cap())) {
                RawRecords.Raw h = raw.next();
                if (h == null || h.failure() != null) {
                    continue;
                }
                if (h.over() || h.problem() != null) {
                    throw new InputException("input " + files[i] + ": the header line is not a header ("
                            + (h.over() ? h.length() + " bytes, over --max-input-bytes" : h.problem()) + ")");
                }
                String[] names;
                try {
                    names = fields(format, decode(h.bytes()));
                } catch (CharacterCodingException | IllegalStateException e) {
                    throw new InputException("input " + files[i] + ": the header line cannot be read: " + e.getMessage());
                }
                List<String> n = Arrays.asList(names);
                if (!n.contains(columns.text())) {
                    throw new InputException("input " + files[i] + " has no text column \"" + columns.text()
                            + "\" (columns: " + n + "); set --text-column");
                }
                out[i] = new int[]{n.indexOf(columns.id()), n.indexOf(columns.text()), names.length};
            }
        }
        return out;
    }

    /** Strict UTF-8. */
    static String decode(byte[] b) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    }

    /** The first bytes of an over-long record, cut at a character boundary. */
    static String prefix(byte[] b) {
        int n = Math.min(b.length, PREFIX_BYTES);
        while (n > 0 && n < b.length && (b[n] & 0xC0) == 0x80) {
            n--;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    private static final ThreadLocal<CsvParser> CSV = ThreadLocal.withInitial(() -> {
        CsvParserSettings s = new CsvParserSettings();
        s.getFormat().setDelimiter(',');
        s.getFormat().setQuote('"');
        s.getFormat().setQuoteEscape('"');
        s.getFormat().setComment('\0');
        s.getFormat().setLineSeparator("\n");
        s.setLineSeparatorDetectionEnabled(false);
        s.setIgnoreLeadingWhitespaces(false);
        s.setIgnoreTrailingWhitespaces(false);
        s.setSkipEmptyLines(false);
        s.setNullValue("");
        s.setEmptyValue("");
        s.setMaxCharsPerColumn(-1);
        s.setMaxColumns(100_000);
        s.setHeaderExtractionEnabled(false);
        return new CsvParser(s);
    });

    /** The fields of one record: TSV splits at tabs (no quoting); CSV goes through univocity, which must see one record. */
    static String[] fields(InputFormat format, String record) {
        if (format == InputFormat.TSV) {
            return record.split("\t", -1);
        }
        List<String[]> all;
        try {
            all = CSV.get().parseAll(new StringReader(record));
        } catch (RuntimeException e) {
            throw new IllegalStateException("CSV parser: " + e.getMessage(), e);
        }
        if (all.size() != 1) {
            throw new IllegalStateException("the CSV parser sees " + all.size() + " records in it");
        }
        return all.get(0);
    }

    /** A record on its way to a row: its id (by kind), text or tokens, error. */
    static final class Rec {
        static final byte GENERATED = 0;  // id = the record number
        static final byte EXPLICIT = 1;   // id from the input
        static final byte MISSING = 2;    // no id in the record: the record number if the input has no ids, else -1 - it
        static final byte NONE = 3;       // a record that could not be parsed: -1 - the record number

        byte idKind;
        long id;
        String source;
        Integer[] tokens;
        String error;
        boolean blank;
        boolean idField;
        boolean textField;
        boolean parsed;
        String where;

        static Rec error(byte kind, String source, String error) {
            Rec r = new Rec();
            r.idKind = kind;
            r.source = source;
            r.error = error;
            return r;
        }

        Row toRow(long index, boolean inputHasIds, String idName, String file) {
            long rowId;
            String err = error;
            switch (idKind) {
                case GENERATED -> rowId = index;
                case EXPLICIT -> rowId = id;
                case MISSING -> {
                    rowId = inputHasIds ? -1 - index : index;
                    if (inputHasIds && err == null && !blank) {
                        err = where + ": no id (id column \"" + idName + "\"; reported with id " + rowId + ")";
                    }
                }
                default -> rowId = -1 - index;
            }
            Object toks = tokens == null ? null : ScalaSeqs.wrap(tokens);
            return RowFactory.create(rowId, source, toks, err, file);
        }
    }

    /** The records of one file as {@link Rec}s: one per raw record (the header of CSV/TSV is not one). */
    static final class Records implements Iterator<Rec>, AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper()
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

        private final String file;
        private final InputFormat format;
        private final Columns columns;
        private final int[] header;
        private final RawRecords raw;
        private final Iterator<Rec> arrow;
        private Rec ahead;
        private boolean closed;

        Records(String file, InputFormat format, Configuration conf, Columns columns, int[] header) {
            this.file = file;
            this.format = format;
            this.columns = columns;
            this.header = header;
            if (format == InputFormat.ARROW) {
                raw = null;
                arrow = ArrowTokenFiles.records(file, conf);
            } else {
                raw = new RawRecords(file, format, conf, columns.cap());
                arrow = null;
                if (format == InputFormat.CSV || format == InputFormat.TSV) {
                    RawRecords.Raw h = raw.next(); // the header (checked on the driver)
                    if (h != null && h.failure() != null) {
                        ahead = failure(h);
                    }
                }
            }
        }

        @Override
        public boolean hasNext() {
            if (ahead == null && !closed) {
                if (arrow != null) {
                    ahead = arrow.hasNext() ? arrow.next() : null;
                } else {
                    RawRecords.Raw r = raw.next();
                    ahead = r == null ? null : convert(r);
                }
                if (ahead == null) {
                    close();
                }
            }
            return ahead != null;
        }

        @Override
        public Rec next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Rec r = ahead;
            ahead = null;
            return r;
        }

        private Rec failure(RawRecords.Raw r) {
            return Rec.error(Rec.NONE, null, Schemas.FILE_ERROR_PREFIX + file + " line " + r.line() + ": " + r.failure());
        }

        private Rec convert(RawRecords.Raw r) {
            String where = file + " line " + r.line();
            if (r.failure() != null) {
                return failure(r);
            }
            byte missing = format == InputFormat.TEXT ? Rec.GENERATED : Rec.NONE;
            if (r.over()) {
                return Rec.error(missing, prefix(r.bytes()), where + ": " + r.length() + " bytes, over --max-input-bytes "
                        + columns.maxInputBytes() + " (source holds its first " + PREFIX_BYTES + " bytes at most)");
            }
            if (r.problem() != null) {
                return Rec.error(Rec.NONE, prefix(r.bytes()), where + ": " + r.problem());
            }
            String s;
            try {
                s = decode(r.bytes());
            } catch (CharacterCodingException e) {
                return Rec.error(missing, new String(r.bytes(), StandardCharsets.UTF_8),
                        where + ": not valid UTF-8 (" + e.getMessage() + ")");
            }
            Rec rec = switch (format) {
                case TEXT -> {
                    Rec t = new Rec();
                    t.idKind = Rec.GENERATED;
                    t.source = s;
                    yield t;
                }
                case JSONL -> json(s, where);
                default -> delimited(s, where);
            };
            rec.where = where;
            return rec;
        }

        private Rec blank() {
            Rec b = new Rec();
            b.idKind = Rec.MISSING;
            b.source = "";
            b.blank = true;
            return b;
        }

        private Rec json(String s, String where) {
            if (s.chars().allMatch(c -> c == ' ' || c == '\t' || c == '\r')) {
                return blank();
            }
            JsonNode n;
            try {
                n = JSON.readTree(s);
            } catch (IOException | RuntimeException e) {
                return Rec.error(Rec.NONE, null, where + ": malformed JSON (" + firstLine(e.getMessage()) + ")");
            }
            if (n.isArray()) {
                return Rec.error(Rec.NONE, null, where + ": a JSON array (" + n.size()
                        + " elements), not an object; JSONL input is one object per line");
            }
            if (!n.isObject()) {
                return Rec.error(Rec.NONE, null, where + ": not a JSON object but a " + n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
            }
            Rec r = new Rec();
            r.parsed = true;
            JsonNode id = n.get(columns.id());
            r.idField = id != null && !id.isNull();
            JsonNode text = n.get(columns.text());
            r.textField = text != null;
            if (text == null || text.isNull()) {
                r.source = null;
            } else if (text.isTextual() || text.isNumber() || text.isBoolean()) {
                r.source = text.asText();
            } else {
                r.error = where + ": field \"" + columns.text() + "\" is a JSON " + text.getNodeType().toString()
                        .toLowerCase(java.util.Locale.ROOT) + ", not a string";
            }
            if (!r.idField) {
                r.idKind = Rec.MISSING;
            } else {
                Long v = id.isIntegralNumber() && id.canConvertToLong() ? Long.valueOf(id.asLong())
                        : id.isTextual() ? parseId(id.asText()) : null;
                if (v == null) {
                    r.idKind = Rec.NONE;
                    r.source = null;
                    r.error = where + ": id \"" + columns.id() + "\" is not an integer: " + clip(id.toString());
                } else {
                    r.idKind = Rec.EXPLICIT;
                    r.id = v;
                }
            }
            return r;
        }

        private Rec delimited(String s, String where) {
            if (s.isEmpty()) {
                return blank();
            }
            if (header == null) {
                return Rec.error(Rec.NONE, null, where + ": no header"); // unreachable: a record needs a header line before it
            }
            String[] f;
            try {
                f = fields(format, s);
            } catch (IllegalStateException e) {
                return Rec.error(Rec.NONE, null, where + ": malformed record (" + firstLine(e.getMessage()) + ")");
            }
            if (f.length != header[2]) {
                return Rec.error(Rec.NONE, null, where + ": " + f.length + (f.length == 1 ? " field" : " fields")
                        + ", the header has " + header[2]);
            }
            Rec r = new Rec();
            r.source = f[header[1]];
            r.textField = true;
            if (header[0] < 0) {
                r.idKind = Rec.MISSING;
            } else {
                String raw = f[header[0]];
                r.idField = true;
                Long v = parseId(raw);
                if (raw == null || raw.isEmpty()) {
                    r.idKind = Rec.MISSING;
                } else if (v == null) {
                    r.idKind = Rec.NONE;
                    r.source = null;
                    r.error = where + ": id \"" + columns.id() + "\" is not an integer: " + clip(raw);
                } else {
                    r.idKind = Rec.EXPLICIT;
                    r.id = v;
                }
            }
            return r;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                if (raw != null) {
                    raw.close();
                }
                if (arrow instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        // nothing left to read
                    }
                }
            }
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return clip(nl < 0 ? s : s.substring(0, nl));
    }

    private static String clip(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
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

    /** Parquet: picks the id and text columns; null or non-integer ids get an error row. */
    static Dataset<Row> fromFrame(Dataset<Row> df, Columns columns, String path) {
        List<String> names = Arrays.asList(df.columns());
        if (!names.contains(columns.text())) {
            throw new InputException("input " + path + " has no text column \"" + columns.text() + "\" (columns: "
                    + names + "); set --text-column");
        }
        boolean hasId = names.contains(columns.id());
        Column text = functions.col(columns.text()).cast(DataTypes.StringType);
        Column rawId = hasId ? functions.col(columns.id()).cast(DataTypes.StringType) : functions.lit(null).cast(DataTypes.StringType);
        Dataset<Row> picked = df.select(rawId.as("raw_id"), text.as("text"), functions.input_file_name().as("file"));
        boolean generate = !hasId;
        String idName = columns.id();
        JavaRDD<Row> rows = picked.javaRDD().zipWithIndex().map(p -> {
            Row r = p._1();
            long index = p._2();
            String rawIdValue = r.isNullAt(0) ? null : r.getString(0);
            String source = r.isNullAt(1) ? null : r.getString(1);
            String error = null;
            long id;
            if (generate) {
                id = index;
            } else {
                Long parsed = parseId(rawIdValue);
                if (parsed == null) {
                    id = -1 - index;
                    error = "record " + index + ": id column \"" + idName + "\" is "
                            + (rawIdValue == null ? "missing" : "not an integer: " + rawIdValue)
                            + " (reported with id " + id + ")";
                } else {
                    id = parsed;
                }
            }
            String file = r.isNullAt(2) || r.getString(2).isEmpty() ? null
                    : new Path(java.net.URI.create(r.getString(2))).toString(); // same spelling as files()
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
