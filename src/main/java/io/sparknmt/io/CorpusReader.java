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
import org.apache.spark.sql.types.StructField;
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

    /**
     * Options of the record formats: id and text columns, the byte cap of one record, and the
     * input columns to keep beside the translation columns.
     *
     * @param keep the input columns to keep, in this order; null = all of them (but the id and text
     *             columns, which are the {@code id} and {@code source} columns)
     */
    public record Columns(String id, String text, long maxInputBytes, List<String> keep) implements java.io.Serializable {
        public Columns {
            if (maxInputBytes < 1 || maxInputBytes > (1L << 30)) {
                throw new IllegalArgumentException("--max-input-bytes must be in [1, " + (1L << 30) + "], got " + maxInputBytes);
            }
            keep = keep == null ? null : List.copyOf(keep);
        }

        public Columns(String id, String text, long maxInputBytes) {
            this(id, text, maxInputBytes, null);
        }

        public Columns(String id, String text) {
            this(id, text, DEFAULT_MAX_INPUT_BYTES);
        }

        /** The kept columns among {@code available} (the input's columns in order, id and text included). */
        List<String> kept(List<String> available, String path) {
            List<String> out = new ArrayList<>();
            if (keep == null) {
                for (String c : available) {
                    if (!c.equals(id) && !c.equals(text)) {
                        out.add(c);
                    }
                }
            } else {
                for (String c : keep) {
                    if (!available.contains(c)) {
                        throw new UsageException("--keep-columns " + c + ": input " + path + " has no such column (columns: "
                                + available + ")");
                    }
                    if (!c.equals(id) && !c.equals(text) && !out.contains(c)) {
                        out.add(c);
                    }
                }
            }
            for (String c : out) {
                if (Schemas.RESERVED.contains(c)) {
                    throw new UsageException("input column \"" + c + "\" of " + path + " has the name of an output column "
                            + Schemas.RESERVED + "; leave it out with --keep-columns (e.g. --keep-columns "
                            + String.join(",", out.stream().filter(x -> !Schemas.RESERVED.contains(x)).toList())
                            + ") or rename it");
                }
            }
            return out;
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
                .add("ids", DataTypes.BooleanType).add("texts", DataTypes.BooleanType).add("objects", DataTypes.BooleanType)
                .add("int_ids", DataTypes.BooleanType).add("fields", DataTypes.createArrayType(DataTypes.StringType, false));
        JavaRDD<Row> statRows = perFile.map(i -> {
            long n = 0;
            boolean ids = false;
            boolean texts = false;
            boolean objects = false;
            boolean intIds = true;
            java.util.LinkedHashMap<String, Character> kinds = new java.util.LinkedHashMap<>();
            try (Records it = new Records(files[i], format, conf.value(), cols, headers == null ? null : headers[i], null)) {
                while (it.hasNext()) {
                    Rec r = it.next();
                    n++;
                    ids |= r.idField;
                    texts |= r.textField;
                    objects |= r.parsed;
                    intIds &= r.idKind != Rec.EXPLICIT || r.idIntegral;
                    if (r.json != null) {
                        r.json.fields().forEachRemaining(e -> kinds.merge(e.getKey(), kind(e.getValue()), CorpusReader::mergeKinds));
                    }
                }
            }
            List<String> fields = new ArrayList<>();
            kinds.forEach((k, v) -> fields.add(v + k));
            return RowFactory.create(i, n, ids, texts, objects, intIds, ScalaSeqs.wrap(fields.toArray()));
        });
        long[] offsets = new long[files.length];
        boolean anyId = csvHasId;
        boolean anyText = false;
        boolean anyObject = false;
        boolean intIds = true;
        java.util.LinkedHashMap<String, Character> kinds = new java.util.LinkedHashMap<>();
        long total = 0;
        List<Row> stats = new ArrayList<>(spark.createDataFrame(statRows, statSchema).collectAsList());
        stats.sort((a, b) -> Integer.compare(a.getInt(0), b.getInt(0)));
        for (Row s : stats) {
            offsets[s.getInt(0)] = idsPerFile ? 0 : total;
            total += s.getLong(1);
            anyId |= s.getBoolean(2);
            anyText |= s.getBoolean(3);
            anyObject |= s.getBoolean(4);
            intIds &= s.getBoolean(5);
            for (Object f : s.getList(6)) {
                String k = (String) f;
                kinds.merge(k.substring(1), k.charAt(0), CorpusReader::mergeKinds);
            }
        }
        if (format == InputFormat.JSONL && anyObject && !anyText) {
            throw new InputException("input " + String.join(",", files) + " has no text field \"" + columns.text()
                    + "\" in any record; set --text-column");
        }
        boolean ids = anyId;
        // The id column's type: integers stay long (text line numbers, record numbers, Arrow ids, and
        // JSONL/CSV/TSV ids that are all integers); any other id is kept as its text (string), never an error.
        boolean longIds = format == InputFormat.TEXT || format == InputFormat.ARROW || !anyId || intIds;
        String where = String.join(",", files);
        List<StructField> kept = new ArrayList<>();
        String[] keptNames;
        char[] keptKinds;
        if (format == InputFormat.JSONL) {
            List<String> names = new ArrayList<>(kinds.keySet());
            keptNames = columns.kept(names, where).toArray(String[]::new);
            keptKinds = new char[keptNames.length];
            for (int k = 0; k < keptNames.length; k++) {
                keptKinds[k] = kinds.get(keptNames[k]);
                kept.add(DataTypes.createStructField(keptNames[k], typeOf(keptKinds[k]), true));
            }
        } else if (headers != null) {
            List<String> names = new ArrayList<>();
            for (String[] h : headerNames(hadoop, format, files, columns)) {
                for (String c : h == null ? new String[0] : h) {
                    if (!names.contains(c)) {
                        names.add(c);
                    }
                }
            }
            keptNames = columns.kept(names, where).toArray(String[]::new);
            keptKinds = new char[keptNames.length];
            java.util.Arrays.fill(keptKinds, KIND_STRING);
            for (String k : keptNames) {
                kept.add(DataTypes.createStructField(k, DataTypes.StringType, true));
            }
        } else {
            if (columns.keep() != null && !columns.keep().isEmpty()) {
                throw new UsageException("--keep-columns: " + format.name().toLowerCase(java.util.Locale.ROOT)
                        + " input has no columns but the text" + (format == InputFormat.ARROW ? " tokens and the id" : ""));
            }
            keptNames = new String[0];
            keptKinds = new char[0];
        }
        Layout layout = new Layout(ids, longIds, columns.id(), keptNames, keptKinds);
        String drop = System.getProperty(TEST_DROP_RECORD);
        long dropIndex = drop == null ? -1 : Long.parseLong(drop.trim());
        String idName = columns.id();
        // Pass 2: the rows, numbered in file order.
        JavaRDD<Row> rows = perFile.mapPartitions(it -> {
            if (!it.hasNext()) {
                return java.util.Collections.emptyIterator();
            }
            int i = it.next();
            Records recs = new Records(files[i], format, conf.value(), cols, headers == null ? null : headers[i],
                    headers == null ? null : headerNames(conf.value(), format, new String[]{files[i]}, cols)[0]);
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
                        ahead = r.toRow(index, layout, files[i]);
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
        return spark.createDataFrame(rows, Schemas.input(longIds ? DataTypes.LongType : DataTypes.StringType, kept));
    }

    /** JSON value kinds of kept JSONL fields: null only, integer, number, boolean, anything else (string). */
    static final char KIND_NULL = 'n';
    static final char KIND_LONG = 'l';
    static final char KIND_DOUBLE = 'd';
    static final char KIND_BOOLEAN = 'b';
    static final char KIND_STRING = 's';

    static char kind(JsonNode v) {
        return v == null || v.isNull() ? KIND_NULL : v.isIntegralNumber() && v.canConvertToLong() ? KIND_LONG
                : v.isNumber() ? KIND_DOUBLE : v.isBoolean() ? KIND_BOOLEAN : KIND_STRING;
    }

    static Character mergeKinds(Character a, Character b) {
        if (a == b || b == KIND_NULL) {
            return a;
        }
        if (a == KIND_NULL) {
            return b;
        }
        if ((a == KIND_LONG && b == KIND_DOUBLE) || (a == KIND_DOUBLE && b == KIND_LONG)) {
            return KIND_DOUBLE;
        }
        return KIND_STRING;
    }

    static org.apache.spark.sql.types.DataType typeOf(char kind) {
        return switch (kind) {
            case KIND_LONG -> DataTypes.LongType;
            case KIND_DOUBLE -> DataTypes.DoubleType;
            case KIND_BOOLEAN -> DataTypes.BooleanType;
            default -> DataTypes.StringType;
        };
    }

    /** A kept JSON value as its column type holds it. */
    static Object value(JsonNode v, char kind) {
        if (v == null || v.isNull()) {
            return null;
        }
        return switch (kind) {
            case KIND_LONG -> v.asLong();
            case KIND_DOUBLE -> v.asDouble();
            case KIND_BOOLEAN -> v.asBoolean();
            default -> v.isTextual() ? v.asText() : v.toString();
        };
    }

    /**
     * How records become rows, decided on the driver from the first pass: whether the input has ids,
     * whether they are all integers (long) or kept as text, and the kept columns with their kinds.
     */
    record Layout(boolean inputHasIds, boolean longIds, String idName, String[] keptNames, char[] keptKinds)
            implements java.io.Serializable {
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

    /** The header names of each CSV/TSV file (null for a file that is empty or unreadable). */
    static String[][] headerNames(Configuration conf, InputFormat format, String[] files, Columns columns) {
        String[][] out = new String[files.length][];
        for (int i = 0; i < files.length; i++) {
            try (RawRecords raw = new RawRecords(files[i], format, conf, columns.cap())) {
                RawRecords.Raw h = raw.next();
                if (h == null || h.failure() != null || h.over() || h.problem() != null) {
                    continue;
                }
                out[i] = fields(format, decode(h.bytes()));
            } catch (CharacterCodingException | IllegalStateException e) {
                // headers() has refused it already
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
        /** The id as text (JSON text of a non-string JSON id), for inputs whose ids are not all integers. */
        String idText;
        /** This record's id is an integer (a JSON integer, or the canonical decimal text of a long). */
        boolean idIntegral;
        /** JSONL: the record's object (for its kept fields). */
        com.fasterxml.jackson.databind.node.ObjectNode json;
        /** CSV/TSV: the record's fields. */
        String[] fields;
        String[] header;
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

        /**
         * The row of {@link Schemas#input}: record number, id (long, or the id's text when the ids are
         * not all integers), text, tokens, error, file, kept columns.
         */
        Row toRow(long index, Layout layout, String file) {
            Object rowId;
            String err = error;
            boolean hasId = layout.inputHasIds();
            switch (idKind) {
                case GENERATED -> rowId = index;
                case EXPLICIT -> rowId = layout.longIds() ? (Object) id : idText;
                case MISSING -> {
                    rowId = !hasId ? index : layout.longIds() ? (Object) (-1 - index) : null;
                    if (hasId && err == null && !blank) {
                        err = where + ": no id (id column \"" + layout.idName() + "\"; reported with id " + rowId + ")";
                    }
                }
                default -> rowId = layout.longIds() ? (Object) (-1 - index) : null;
            }
            Object toks = tokens == null ? null : ScalaSeqs.wrap(tokens);
            Object[] v = new Object[Schemas.INPUT_FIXED + layout.keptNames().length];
            v[0] = index;
            v[1] = rowId;
            v[2] = source;
            v[3] = toks;
            v[4] = err;
            v[5] = file;
            for (int k = 0; k < layout.keptNames().length; k++) {
                String name = layout.keptNames()[k];
                if (json != null) {
                    v[Schemas.INPUT_FIXED + k] = value(json.get(name), layout.keptKinds()[k]);
                } else if (fields != null && header != null) {
                    int at = Arrays.asList(header).indexOf(name);
                    v[Schemas.INPUT_FIXED + k] = at < 0 || at >= fields.length ? null : fields[at];
                }
            }
            return RowFactory.create(v);
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
        private final String[] headerNames;
        private final RawRecords raw;
        private final Iterator<Rec> arrow;
        private Rec ahead;
        private boolean closed;

        Records(String file, InputFormat format, Configuration conf, Columns columns, int[] header, String[] headerNames) {
            this.file = file;
            this.format = format;
            this.columns = columns;
            this.header = header;
            this.headerNames = headerNames;
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
            r.json = (com.fasterxml.jackson.databind.node.ObjectNode) n;
            if (!r.idField) {
                r.idKind = Rec.MISSING;
            } else {
                // any type: an integer stays one; anything else is kept as its text (strings as themselves)
                r.idKind = Rec.EXPLICIT;
                r.idIntegral = id.isIntegralNumber() && id.canConvertToLong();
                r.id = r.idIntegral ? id.asLong() : 0;
                r.idText = id.isTextual() ? id.asText() : id.toString();
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
            r.fields = f;
            r.header = headerNames;
            if (header[0] < 0) {
                r.idKind = Rec.MISSING;
            } else {
                String raw = f[header[0]];
                r.idField = true;
                if (raw == null || raw.isEmpty()) {
                    r.idKind = Rec.MISSING;
                } else {
                    // any text: kept as it is, or as a long when every id of the input is an integer
                    Long v = parseId(raw);
                    r.idKind = Rec.EXPLICIT;
                    r.idIntegral = v != null && Long.toString(v).equals(raw);
                    r.id = r.idIntegral ? v : 0;
                    r.idText = raw;
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

    /** A table of the session's catalog; one that does not exist is an {@link InputException} (exit 4). */
    public static Dataset<Row> table(SparkSession spark, String name) {
        try {
            if (!spark.catalog().tableExists(name)) {
                throw new InputException("input table " + name + " does not exist in the session's catalog ("
                        + spark.conf().get("spark.sql.catalogImplementation", "in-memory") + ")");
            }
            return spark.table(name);
        } catch (InputException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InputException("input table " + name + " cannot be read: " + e.getMessage());
        }
    }

    /** The rows of a table ({@link #table}) as parquet input's, {@code name} as their source file. */
    public static Dataset<Row> fromTable(Dataset<Row> table, String name, Columns columns) {
        return fromFrame(table, columns, "table " + name).withColumn(Schemas.SOURCE_FILE, functions.lit(name));
    }

    /**
     * Parquet: the id column as it is (any type), the text column (cast to string), the kept columns
     * as they are. A null id is an error row (id -1 - n for long ids, null for other types); without an
     * id column the id is the record number.
     */
    static Dataset<Row> fromFrame(Dataset<Row> df, Columns columns, String path) {
        List<String> names = Arrays.asList(df.columns());
        if (!names.contains(columns.text())) {
            throw new InputException("input " + path + " has no text column \"" + columns.text() + "\" (columns: "
                    + names + "); set --text-column");
        }
        boolean hasId = names.contains(columns.id());
        List<String> kept = columns.kept(names, path);
        org.apache.spark.sql.types.DataType idType = hasId ? df.schema().apply(columns.id()).dataType() : DataTypes.LongType;
        Column text = quoted(columns.text()).cast(DataTypes.StringType);
        Column rawId = hasId ? quoted(columns.id()) : functions.lit(null).cast(DataTypes.LongType);
        List<Column> select = new ArrayList<>(List.of(rawId.as("raw_id"), text.as("text"), functions.input_file_name().as("file")));
        List<StructField> keptFields = new ArrayList<>();
        for (String k : kept) {
            select.add(quoted(k));
            keptFields.add(df.schema().apply(k));
        }
        Dataset<Row> picked = df.select(select.toArray(Column[]::new));
        boolean generate = !hasId;
        boolean longIds = idType.equals(DataTypes.LongType);
        String idName = columns.id();
        int keptCount = kept.size();
        JavaRDD<Row> rows = picked.javaRDD().zipWithIndex().map(p -> {
            Row r = p._1();
            long index = p._2();
            String source = r.isNullAt(1) ? null : r.getString(1);
            String error = null;
            Object id;
            if (generate) {
                id = index;
            } else if (r.isNullAt(0)) {
                id = longIds ? (Object) (-1 - index) : null;
                error = "record " + index + ": id column \"" + idName + "\" is null (reported with id " + id + ")";
            } else {
                id = r.get(0);
            }
            String file = r.isNullAt(2) || r.getString(2).isEmpty() ? null
                    : new Path(java.net.URI.create(r.getString(2))).toString(); // same spelling as files()
            Object[] v = new Object[Schemas.INPUT_FIXED + keptCount];
            v[0] = index;
            v[1] = id;
            v[2] = source;
            v[4] = error;
            v[5] = file;
            for (int k = 0; k < keptCount; k++) {
                v[Schemas.INPUT_FIXED + k] = r.get(3 + k);
            }
            return RowFactory.create(v);
        });
        return df.sparkSession().createDataFrame(rows, Schemas.input(idType, keptFields));
    }

    /** A column by its exact name (dots, spaces and backticks taken literally). */
    private static Column quoted(String name) {
        return functions.col("`" + name.replace("`", "``") + "`");
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
