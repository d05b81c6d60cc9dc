package io.sparknmt.spark;

import io.sparknmt.io.ScalaSeqs;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.io.RowStatus;
import io.sparknmt.io.Schemas;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * Spark rows to {@link Item}s and back, by column name ({@link Schemas}): reads an input row
 * (text to tokenize, pre-tokenized ids to check, or a reader's error), cuts sources longer than
 * --max-input-tokens, and writes exactly one output row per item, with its status and message.
 * A sentence splitter or a dedup step works on items, between this class and the batch runner.
 */
final class RowCodec {
    private static final int IN_ID = Schemas.INPUT.fieldIndex(Schemas.ID);
    private static final int IN_SOURCE = Schemas.INPUT.fieldIndex(Schemas.SOURCE);
    private static final int IN_TOKENS = Schemas.INPUT.fieldIndex(Schemas.SOURCE_TOKENS);
    private static final int IN_ERROR = Schemas.INPUT.fieldIndex(Schemas.INPUT_ERROR);
    private static final int IN_FILE = Schemas.INPUT.fieldIndex(Schemas.SOURCE_FILE);

    private final Translator translator;
    private final PartitionSettings settings;
    private final StructType out;

    RowCodec(Translator translator, PartitionSettings settings) {
        this.translator = translator;
        this.settings = settings;
        this.out = Schemas.output(settings.nBest() > 1, settings.emitTokens());
    }

    /** Reads one input row ({@link Schemas#INPUT}). Never throws: a bad row becomes a failed item. */
    Item read(Row r) {
        String source = r.isNullAt(IN_SOURCE) ? null : r.getString(IN_SOURCE);
        Item it = new Item(r.getLong(IN_ID), source, r.isNullAt(IN_FILE) ? null : r.getString(IN_FILE));
        try {
            if (!r.isNullAt(IN_ERROR)) {
                it.fail(RowStatus.ERROR, r.getString(IN_ERROR));
            } else if (!r.isNullAt(IN_TOKENS)) {
                List<Integer> list = r.getList(IN_TOKENS);
                it.ids = list.stream().mapToInt(Integer::intValue).toArray();
                checkIds(it);
            } else if (source == null) {
                it.fail(RowStatus.EMPTY, "input is null");
            } else if (io.sparknmt.io.TextChecks.invisibleOnly(source)) {
                it.fail(RowStatus.EMPTY, io.sparknmt.io.TextChecks.emptyReason(source));
            } else {
                it.ids = settings.targetLang() == null ? translator.tokenizer().encode(source)
                        : translator.tokenizer().encode(settings.targetLang(), source);
            }
            if (it.ids != null) {
                it.srcTokens = it.ids.length;
                if (it.ids.length > settings.maxInputTokens()) {
                    int[] cut = Arrays.copyOf(it.ids, settings.maxInputTokens());
                    cut[cut.length - 1] = translator.tokenizer().eosId();
                    it.status = RowStatus.TRUNCATED;
                    it.message = "source cut from " + it.ids.length + " to " + cut.length + " tokens (--max-input-tokens)";
                    it.ids = cut;
                }
            }
        } catch (RuntimeException e) {
            it.fail(RowStatus.ERROR, "tokenization failed: " + e);
        }
        return it;
    }

    private void checkIds(Item it) {
        int vocab = translator.translationModel().sourceVocabSize();
        int eos = translator.tokenizer().eosId();
        if (it.ids.length == 0) {
            it.fail(RowStatus.EMPTY, "token list is empty");
            return;
        }
        for (int id : it.ids) {
            if (id < 0 || id >= vocab) {
                it.fail(RowStatus.ERROR, "token id " + id + " is outside the source vocabulary [0, " + vocab + ")");
                return;
            }
        }
        if (it.ids[it.ids.length - 1] != eos) {
            it.ids = Arrays.copyOf(it.ids, it.ids.length + 1);
            it.ids[it.ids.length - 1] = eos;
        }
    }

    /** The output row of an item ({@link Schemas#output}); settles its status. */
    Row write(Item it) {
        Translation t = it.translation;
        if (t != null) {
            // With forced_eos_token_id a cut translation still ends in </s>: judge by the length used.
            if (!t.best().finished() || t.best().generatedLength() >= settings.maxLength() - 1) {
                it.status = RowStatus.TRUNCATED;
                it.message = join(it.message, "translation stopped at the output limit of "
                        + (settings.maxLength() - 1) + " tokens (--max-output-tokens)");
            } else if (it.status == null) {
                it.status = RowStatus.OK;
            }
        }
        Object[] v = new Object[out.size()];
        v[out.fieldIndex(Schemas.ID)] = it.id;
        v[out.fieldIndex(Schemas.SOURCE)] = it.source;
        v[out.fieldIndex(Schemas.TRANSLATION)] = t == null ? (it.status == RowStatus.EMPTY ? "" : null) : t.text();
        v[out.fieldIndex(Schemas.SCORE)] = t == null ? null : t.best().score();
        v[out.fieldIndex(Schemas.STATUS)] = (it.status == null ? RowStatus.ERROR : it.status).value();
        v[out.fieldIndex(Schemas.MESSAGE)] = it.status == null ? "no result (internal error)" : it.message;
        v[out.fieldIndex(Schemas.SRC_TOKEN_COUNT)] = it.srcTokens;
        v[out.fieldIndex(Schemas.TGT_TOKEN_COUNT)] = t == null ? 0 : t.best().generatedLength();
        v[out.fieldIndex(Schemas.SOURCE_FILE)] = it.file;
        if (settings.nBest() > 1) {
            Object nBest = null;
            if (t != null) {
                List<Row> nb = new ArrayList<>();
                for (Translation.Scored s : t.nBest()) {
                    nb.add(RowFactory.create(s.text(), s.hypothesis().score()));
                }
                nBest = ScalaSeqs.wrap(nb.toArray());
            }
            v[out.fieldIndex(Schemas.N_BEST)] = nBest;
        }
        if (settings.emitTokens()) {
            v[out.fieldIndex(Schemas.TOKENS)] = t == null ? null
                    : ScalaSeqs.wrap(Arrays.stream(t.best().tokens()).boxed().toArray());
        }
        return RowFactory.create(v);
    }

    private static String join(String a, String b) {
        return a == null ? b : a + "; " + b;
    }
}
