package io.sparknmt.spark;

import io.sparknmt.decode.Hypothesis;
import io.sparknmt.decode.Translation;
import io.sparknmt.io.Digests;
import io.sparknmt.io.RowStatus;
import io.sparknmt.io.Schemas;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The unit of translation of the dedup path ({@link DedupPlan}): a row has units 0..n-1 (n = 1
 * today; the sentences of a document with a sentence splitter), each a source the model
 * translates on its own. A unit's key is a hash of its source ids exactly as the model gets
 * them (the language prefix and {@code </s>} included, after any --max-input-tokens cut): two
 * units with the same key are translated once. Here: the row layouts of the stages, the key,
 * and the exact binary form of a unit's {@link Translation} that the stages and the translation
 * memory carry.
 */
final class Units {
    private Units() {
    }

    static final String KEY = "key";
    static final String IDS = "ids";
    static final String PART = "part";
    static final String PARTS = "parts";
    static final String OCCURRENCES = "occurrences";
    static final String RESULT = "result";
    static final String FAIL_STATUS = "fail_status";
    static final String FAIL_MESSAGE = "fail_message";
    static final String DECODE_NANOS = "decode_nanos";
    static final String REUSED = "reused";

    /** The distinct units of one partition of input rows. */
    static final StructType REQUEST = new StructType(new StructField[]{
            DataTypes.createStructField(KEY, DataTypes.StringType, false),
            DataTypes.createStructField(IDS, Schemas.INT_LIST, false),
            DataTypes.createStructField(PART, DataTypes.IntegerType, false),
            DataTypes.createStructField(OCCURRENCES, DataTypes.LongType, false)});

    /**
     * One distinct unit with its outcome: the encoded {@link Translation} ({@link #RESULT}) or why
     * it failed, the input partitions that need it, and the readable columns of the
     * translation memory.
     */
    static final StructType OUTCOME = new StructType(new StructField[]{
            DataTypes.createStructField(KEY, DataTypes.StringType, false),
            DataTypes.createStructField(PARTS, DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            DataTypes.createStructField(OCCURRENCES, DataTypes.LongType, false),
            DataTypes.createStructField(RESULT, DataTypes.BinaryType, true),
            DataTypes.createStructField(FAIL_STATUS, DataTypes.StringType, true),
            DataTypes.createStructField(FAIL_MESSAGE, DataTypes.StringType, true),
            DataTypes.createStructField(DECODE_NANOS, DataTypes.LongType, false),
            DataTypes.createStructField(REUSED, DataTypes.BooleanType, false),
            DataTypes.createStructField(Schemas.TRANSLATION, DataTypes.StringType, true),
            DataTypes.createStructField(Schemas.SCORE, DataTypes.DoubleType, true),
            DataTypes.createStructField(Schemas.STATUS, DataTypes.StringType, true),
            DataTypes.createStructField(Schemas.TGT_TOKEN_COUNT, DataTypes.IntegerType, true),
            DataTypes.createStructField(Schemas.TOKENS, Schemas.INT_LIST, true)});

    /**
     * The items of a row that the batch runner translates, in order: the row itself when it has
     * ids (n = 1). With a sentence splitter, its sentences' parts ({@code Item.units}).
     */
    static void of(Item row, List<Item> into) {
        row.units(into);
    }

    /** The key of a unit's source ids: 128 bits of SHA-256 over the ids (big-endian int32), as hex. */
    static String key(int[] ids) {
        MessageDigest md = Digests.sha256();
        byte[] b = new byte[ids.length * 4];
        for (int i = 0; i < ids.length; i++) {
            int v = ids[i];
            b[4 * i] = (byte) (v >>> 24);
            b[4 * i + 1] = (byte) (v >>> 16);
            b[4 * i + 2] = (byte) (v >>> 8);
            b[4 * i + 3] = (byte) v;
        }
        md.update(b);
        return HexFormat.of().formatHex(md.digest(), 0, 16);
    }

    static RowStatus status(String value) {
        return value == null ? null : RowStatus.valueOf(value.toUpperCase(Locale.ROOT));
    }

    /**
     * The status a translation gives its row, as {@link RowCodec#write} settles it: truncated when
     * it stopped at --max-output-tokens, else ok.
     */
    static RowStatus statusOf(Translation t, int maxLength) {
        return !t.best().finished() || t.best().generatedLength() >= maxLength - 1 ? RowStatus.TRUNCATED : RowStatus.OK;
    }

    private static final int FORMAT = 1;

    /** A translation, exactly (texts, ids, finished flags, log-probabilities and scores as doubles). */
    static byte[] encode(Translation t) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(FORMAT);
            writeString(out, t.text());
            writeHypothesis(out, t.best());
            out.writeInt(t.nBest().size());
            for (Translation.Scored s : t.nBest()) {
                writeString(out, s.text());
                writeHypothesis(out, s.hypothesis());
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The translation {@link #encode} wrote; a malformed value (a damaged memory file) is an {@link IllegalArgumentException}. */
    static Translation decode(byte[] b) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
            int format = in.readByte();
            if (format != FORMAT) {
                throw new IllegalArgumentException("unit result of format " + format + ", this build reads " + FORMAT);
            }
            String text = readString(in);
            Hypothesis best = readHypothesis(in);
            int n = in.readInt();
            if (n < 0 || n > b.length) {
                throw new IllegalArgumentException("unit result with " + n + " n-best entries");
            }
            List<Translation.Scored> nBest = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                nBest.add(new Translation.Scored(readString(in), readHypothesis(in)));
            }
            if (in.available() != 0) {
                throw new IllegalArgumentException("unit result with " + in.available() + " trailing bytes");
            }
            return new Translation(text, best, List.copyOf(nBest));
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed unit result: " + e, e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n == -1) {
            return null;
        }
        if (n < 0 || n > in.available()) {
            throw new IOException("string of " + n + " bytes");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static void writeHypothesis(DataOutputStream out, Hypothesis h) throws IOException {
        out.writeInt(h.tokens().length);
        for (int v : h.tokens()) {
            out.writeInt(v);
        }
        out.writeBoolean(h.finished());
        out.writeDouble(h.sumLogProb());
        out.writeDouble(h.score());
    }

    private static Hypothesis readHypothesis(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || 4L * n > in.available()) {
            throw new IOException("hypothesis of " + n + " tokens");
        }
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = in.readInt();
        }
        return new Hypothesis(tokens, in.readBoolean(), in.readDouble(), in.readDouble());
    }

    /** What the last stage gets for one unit of its partition: the key, then the translation or the failure. */
    static byte[] routed(String key, byte[] result, String failStatus, String failMessage) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + (result == null ? 0 : result.length));
            DataOutputStream out = new DataOutputStream(bytes);
            writeString(out, key);
            if (result != null) {
                out.writeBoolean(true);
                out.writeInt(result.length);
                out.write(result);
            } else {
                out.writeBoolean(false);
                writeString(out, failStatus);
                writeString(out, failMessage);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A unit's outcome in the last stage: its translation, or the status and message of its failure. */
    record Outcome(String key, Translation translation, RowStatus failStatus, String failMessage) {
        static Outcome of(byte[] routed) {
            try {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(routed));
                String key = readString(in);
                if (in.readBoolean()) {
                    byte[] r = new byte[in.readInt()];
                    in.readFully(r);
                    return new Outcome(key, decode(r), null, null);
                }
                return new Outcome(key, null, status(readString(in)), readString(in));
            } catch (IOException e) {
                throw new IllegalStateException("malformed routed unit: " + e, e);
            }
        }
    }
}
