package io.sparknmt.io;

import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The job's row layouts. */
public final class Schemas {
    private Schemas() {
    }

    public static final String ID = "id";
    public static final String SOURCE = "source";
    public static final String SOURCE_TOKENS = "source_tokens";
    public static final String INPUT_ERROR = "input_error";
    public static final String SOURCE_FILE = "source_file";
    /** Marks the one error row that stands for a whole unreadable input file. */
    public static final String FILE_ERROR_PREFIX = "input file unreadable: ";
    public static final String TRANSLATION = "translation";
    public static final String SCORE = "score";
    public static final String STATUS = "status";
    public static final String MESSAGE = "message";
    public static final String SRC_TOKEN_COUNT = "src_tokens";
    public static final String TGT_TOKEN_COUNT = "tgt_tokens";
    public static final String N_BEST = "n_best";
    public static final String TOKENS = "tokens";

    public static final ArrayType INT_LIST = DataTypes.createArrayType(DataTypes.IntegerType, false);

    /**
     * The internal row key: the 0-based record number of the row (across the sorted input files, or per
     * file with --incremental), non-null and unique in a run; input order for the text output. Not written.
     */
    public static final String RECORD = "record";
    /** The per-sentence results of a document (--emit-sentences). */
    public static final String SENTENCES = "sentences";
    /** Columns of {@link #input} before the kept input columns. */
    public static final int INPUT_FIXED = 6;

    /** Names an input column may not have when it is kept: the job's own columns, in and out. */
    public static final java.util.Set<String> RESERVED = java.util.Set.of(ID, SOURCE, TRANSLATION, SCORE, STATUS, MESSAGE,
            SRC_TOKEN_COUNT, TGT_TOKEN_COUNT, SOURCE_FILE, N_BEST, TOKENS, SENTENCES, RECORD, SOURCE_TOKENS, INPUT_ERROR);

    /**
     * What readers produce: one row per input record, bad records included with their error. The id has
     * the input's type ({@code idType}: long for line and record numbers); the kept input columns follow.
     */
    public static StructType input(DataType idType, java.util.List<StructField> kept) {
        StructType s = new StructType(new StructField[]{
                DataTypes.createStructField(RECORD, DataTypes.LongType, false),
                DataTypes.createStructField(ID, idType, true),
                DataTypes.createStructField(SOURCE, DataTypes.StringType, true),
                DataTypes.createStructField(SOURCE_TOKENS, INT_LIST, true),
                DataTypes.createStructField(INPUT_ERROR, DataTypes.StringType, true),
                DataTypes.createStructField(SOURCE_FILE, DataTypes.StringType, true)});
        for (StructField f : kept) {
            s = s.add(f.name(), f.dataType(), true, f.metadata());
        }
        return s;
    }

    /** An input with long ids and no kept columns (text and Arrow input). */
    public static final StructType INPUT = input(DataTypes.LongType, java.util.List.of());

    /** The kept input columns of an {@link #input} schema. */
    public static java.util.List<StructField> kept(StructType input) {
        return java.util.Arrays.asList(input.fields()).subList(INPUT_FIXED, input.fields().length);
    }

    /** One entry of the {@code sentences} column. */
    public static final StructType SENTENCE_ENTRY = new StructType(new StructField[]{
            DataTypes.createStructField(SOURCE, DataTypes.StringType, true),
            DataTypes.createStructField(TRANSLATION, DataTypes.StringType, true),
            DataTypes.createStructField(SCORE, DataTypes.DoubleType, true),
            DataTypes.createStructField(STATUS, DataTypes.StringType, false),
            DataTypes.createStructField(MESSAGE, DataTypes.StringType, true)});

    public static final StructType N_BEST_ENTRY = new StructType(new StructField[]{
            DataTypes.createStructField(TRANSLATION, DataTypes.StringType, true),
            DataTypes.createStructField(SCORE, DataTypes.DoubleType, false)});

    /**
     * What the partition function emits: exactly one row per input row. The id has the input's type;
     * the kept input columns follow the job's columns; {@link #RECORD} comes last (the writers drop it).
     */
    public static StructType output(StructType input, boolean nBest, boolean tokens, boolean sentences) {
        StructType s = new StructType(new StructField[]{
                DataTypes.createStructField(ID, input.apply(ID).dataType(), true),
                DataTypes.createStructField(SOURCE, DataTypes.StringType, true),
                DataTypes.createStructField(TRANSLATION, DataTypes.StringType, true),
                DataTypes.createStructField(SCORE, DataTypes.DoubleType, true),
                DataTypes.createStructField(STATUS, DataTypes.StringType, false),
                DataTypes.createStructField(MESSAGE, DataTypes.StringType, true),
                DataTypes.createStructField(SRC_TOKEN_COUNT, DataTypes.IntegerType, false),
                DataTypes.createStructField(TGT_TOKEN_COUNT, DataTypes.IntegerType, false),
                DataTypes.createStructField(SOURCE_FILE, DataTypes.StringType, true)});
        if (nBest) {
            s = s.add(N_BEST, DataTypes.createArrayType(N_BEST_ENTRY, false), true);
        }
        if (tokens) {
            s = s.add(TOKENS, INT_LIST, true);
        }
        if (sentences) {
            s = s.add(SENTENCES, DataTypes.createArrayType(SENTENCE_ENTRY, false), true);
        }
        for (StructField f : kept(input)) {
            s = s.add(f);
        }
        return s.add(RECORD, DataTypes.LongType, false);
    }

    /** {@link #output} for text or Arrow input (long ids, no kept columns). */
    public static StructType output(boolean nBest, boolean tokens) {
        return output(INPUT, nBest, tokens, false);
    }
}
