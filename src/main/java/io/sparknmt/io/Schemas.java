package io.sparknmt.io;

import org.apache.spark.sql.types.ArrayType;
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

    /** What readers produce: one row per input record, bad records included with their error. */
    public static final StructType INPUT = new StructType(new StructField[]{
            DataTypes.createStructField(ID, DataTypes.LongType, false),
            DataTypes.createStructField(SOURCE, DataTypes.StringType, true),
            DataTypes.createStructField(SOURCE_TOKENS, INT_LIST, true),
            DataTypes.createStructField(INPUT_ERROR, DataTypes.StringType, true),
            DataTypes.createStructField(SOURCE_FILE, DataTypes.StringType, true)});

    public static final StructType N_BEST_ENTRY = new StructType(new StructField[]{
            DataTypes.createStructField(TRANSLATION, DataTypes.StringType, true),
            DataTypes.createStructField(SCORE, DataTypes.DoubleType, false)});

    /** What the partition function emits: exactly one row per input row. */
    public static StructType output(boolean nBest, boolean tokens) {
        StructType s = new StructType(new StructField[]{
                DataTypes.createStructField(ID, DataTypes.LongType, false),
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
        return s;
    }
}
