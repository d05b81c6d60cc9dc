package io.sparknmt.spark;

import io.sparknmt.io.ScalaSeqs;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.io.RowStatus;
import io.sparknmt.io.Schemas;
import io.sparknmt.io.TextChecks;
import io.sparknmt.text.Document;
import io.sparknmt.text.DocumentAssembler;
import io.sparknmt.text.DocumentResult;
import io.sparknmt.text.Segment;
import io.sparknmt.text.SentenceResult;
import io.sparknmt.text.SentenceSplitter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * Spark rows to {@link Item}s and back, by column name ({@link Schemas}): reads an input row
 * (text to tokenize, pre-tokenized ids to check, or a reader's error), cuts sources longer than
 * --max-input-tokens, and writes exactly one output row per item, with its status and message,
 * the input's id (of any type) and kept columns as they were.
 *
 * <p>With --split-sentences a row's text is a document: {@link SentenceSplitter} cuts it into
 * sentences (one or more part items each, all batched with the other rows' sentences), and
 * {@link DocumentAssembler} joins their translations with the document's own separators. A
 * sentence longer than --max-input-tokens is cut at clause punctuation, then into token windows,
 * never truncated (status {@code split}).
 */
final class RowCodec {
    /** Between the translations of two token windows of one clause. */
    static final String WINDOW_JOINER = " ";

    private final Translator translator;
    private final PartitionSettings settings;
    private final StructType out;
    private final int inRecord;
    private final int inId;
    private final int inSource;
    private final int inTokens;
    private final int inError;
    private final int inFile;
    private final int keptCount;
    private final int outKept;
    private final SentenceSplitter splitter;

    /** @param input the schema of the input rows ({@link Schemas#input}) */
    RowCodec(Translator translator, PartitionSettings settings, StructType input) {
        this.translator = translator;
        this.settings = settings;
        this.out = Schemas.output(input, settings.nBest() > 1, settings.emitTokens(), settings.emitSentences());
        this.inRecord = input.fieldIndex(Schemas.RECORD);
        this.inId = input.fieldIndex(Schemas.ID);
        this.inSource = input.fieldIndex(Schemas.SOURCE);
        this.inTokens = input.fieldIndex(Schemas.SOURCE_TOKENS);
        this.inError = input.fieldIndex(Schemas.INPUT_ERROR);
        this.inFile = input.fieldIndex(Schemas.SOURCE_FILE);
        this.keptCount = Schemas.kept(input).size();
        this.outKept = keptCount == 0 ? -1 : out.fieldIndex(Schemas.kept(input).get(0).name());
        this.splitter = settings.splitSentences() ? new SentenceSplitter(settings.sourceLang()) : null;
    }

    /** Reads one input row ({@link Schemas#input}). Never throws: a bad row becomes a failed item. */
    Item read(Row r) {
        String source = r.isNullAt(inSource) ? null : r.getString(inSource);
        Item it = new Item(r.getLong(inRecord), source, r.isNullAt(inFile) ? null : r.getString(inFile));
        it.input = r;
        try {
            if (!r.isNullAt(inError)) {
                it.fail(RowStatus.ERROR, r.getString(inError));
            } else if (!r.isNullAt(inTokens)) {
                List<Integer> list = r.getList(inTokens);
                it.ids = list.stream().mapToInt(Integer::intValue).toArray();
                checkIds(it);
            } else if (source == null) {
                it.fail(RowStatus.EMPTY, "input is null");
            } else if (splitter != null) {
                readDocument(it, source);
            } else if (TextChecks.invisibleOnly(source)) {
                it.fail(RowStatus.EMPTY, TextChecks.emptyReason(source));
            } else {
                it.ids = encode(source, null);
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

    /**
     * Source ids of a text: with --target-lang its {@code >>xx<<} first; else with a document's leading
     * {@code code} that code first (one token; a code the vocabulary lacks goes through the tokenizer's
     * own rule, as transformers would read {@code ">>xx<< text"}); else the text as the tokenizer reads it.
     */
    private int[] encode(String text, String code) {
        if (settings.targetLang() != null) {
            return translator.tokenizer().encode(settings.targetLang(), text);
        }
        if (code != null) {
            return translator.tokenizer().hasSourcePiece(code)
                    ? translator.tokenizer().encode(code.substring(2, code.length() - 2), text)
                    : translator.tokenizer().encode(code + " " + text);
        }
        return translator.tokenizer().encode(text);
    }

    /** With --split-sentences: the document's sentences, each as one or more parts to translate. */
    private void readDocument(Item it, String source) {
        Document doc = splitter.split(source);
        // with --target-lang a leading code of the text is text, as without --split-sentences
        String code = settings.targetLang() == null ? doc.code() : null;
        if (settings.targetLang() != null && !doc.prefix().isEmpty()) {
            doc = new SentenceSplitter(settings.sourceLang()).split(" " + source); // no prefix split off
            doc = new Document("", null, doc.leading().substring(1), doc.segments());
        }
        int max = settings.maxInputTokens();
        List<Item.Sentence> sentences = new ArrayList<>(doc.segments().size());
        int src = 0;
        for (Segment seg : doc.segments()) {
            String text = seg.text();
            if (TextChecks.invisibleOnly(text)) {
                sentences.add(new Item.Sentence(text, 0, List.of(), List.of(), null));
                continue;
            }
            int[] ids = encode(text, code);
            src += ids.length;
            if (ids.length <= max) {
                sentences.add(new Item.Sentence(text, ids.length, List.of(part(it, text, ids)), List.of(), null));
                continue;
            }
            List<Item> parts = new ArrayList<>();
            List<String> joiners = new ArrayList<>();
            boolean windows = false;
            String c = code;
            List<Segment> clauses = SentenceSplitter.clauses(text, t -> encode(t, c).length, max);
            for (int k = 0; k < clauses.size(); k++) {
                Segment clause = clauses.get(k);
                int[] cids = clauses.size() == 1 ? ids : encode(clause.text(), code);
                if (cids.length <= max) {
                    parts.add(part(it, clause.text(), cids));
                } else {
                    windows = true;
                    List<int[]> w = windows(cids, settings.targetLang() != null || code != null ? 1 : 0, max);
                    for (int j = 0; j < w.size(); j++) {
                        parts.add(part(it, j == 0 ? clause.text() : null, w.get(j)));
                        if (j + 1 < w.size()) {
                            joiners.add(WINDOW_JOINER);
                        }
                    }
                }
                if (k + 1 < clauses.size()) {
                    joiners.add(clause.trailing());
                }
            }
            String how = "sentence of " + ids.length + " tokens, over --max-input-tokens " + max + ": translated in "
                    + parts.size() + " parts (" + (clauses.size() > 1 ? "cut at clause punctuation" : "")
                    + (clauses.size() > 1 && windows ? ", then " : "") + (windows ? "windows of at most " + max + " tokens" : "")
                    + "), nothing cut";
            sentences.add(new Item.Sentence(text, ids.length, parts, joiners, how));
        }
        it.document = doc;
        it.sentences = sentences;
        it.srcTokens = src;
    }

    private static Item part(Item doc, String text, int[] ids) {
        Item p = new Item(doc.id, text, doc.file);
        p.ids = ids;
        p.srcTokens = ids.length;
        return p;
    }

    /** Cuts ids (a {@code prefix}-token language code first, {@code </s>} last) into windows of at most {@code max}. */
    private List<int[]> windows(int[] ids, int prefix, int max) {
        int eos = translator.tokenizer().eosId();
        int body = ids.length - prefix - 1;
        int width = Math.max(1, max - prefix - 1);
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < body; start += width) {
            int n = Math.min(width, body - start);
            int[] w = new int[prefix + n + 1];
            System.arraycopy(ids, 0, w, 0, prefix);
            System.arraycopy(ids, prefix + start, w, prefix, n);
            w[w.length - 1] = eos;
            out.add(w);
        }
        return out;
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

    /** Settles a translated item's status: ok, or truncated when the translation reached the output limit. */
    private void settle(Item it) {
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
    }

    /** One part's result. */
    private SentenceResult result(Item p) {
        settle(p);
        Translation t = p.translation;
        RowStatus st = p.status == null ? RowStatus.ERROR : p.status;
        return new SentenceResult(p.source, t == null ? null : t.text(), t == null ? null : t.best().score(), st,
                p.status == null ? "no result (internal error)" : p.message, p.srcTokens,
                t == null ? 0 : t.best().generatedLength());
    }

    /** A document's result, from its sentences' parts. */
    static DocumentResult assemble(Document doc, List<Item.Sentence> sentences, java.util.function.Function<Item, SentenceResult> result) {
        List<SentenceResult> rs = new ArrayList<>(sentences.size());
        for (Item.Sentence s : sentences) {
            if (s.parts().isEmpty()) {
                rs.add(new SentenceResult(s.source(), s.source(), null, RowStatus.EMPTY, TextChecks.emptyReason(s.source()), 0, 0));
            } else if (s.parts().size() == 1 && s.how() == null) {
                rs.add(result.apply(s.parts().get(0)));
            } else {
                List<SentenceResult> parts = new ArrayList<>();
                for (Item p : s.parts()) {
                    parts.add(result.apply(p));
                }
                SentenceResult whole = DocumentAssembler.parts(s.source(), parts, s.joiners(), s.how());
                rs.add(new SentenceResult(whole.source(), whole.translation(), whole.score(), whole.status(), whole.message(),
                        s.srcTokens(), whole.tgtTokens()));
            }
        }
        return DocumentAssembler.assemble(doc, rs);
    }

    /** The output row of an item ({@link Schemas#output}); settles its status. */
    Row write(Item it) {
        Object[] v = new Object[out.size()];
        Translation t = it.translation;
        if (it.document != null) {
            DocumentResult d = assemble(it.document, it.sentences, this::result);
            v[out.fieldIndex(Schemas.TRANSLATION)] = d.translation();
            v[out.fieldIndex(Schemas.SCORE)] = d.score();
            v[out.fieldIndex(Schemas.STATUS)] = d.status().value();
            v[out.fieldIndex(Schemas.MESSAGE)] = d.message();
            v[out.fieldIndex(Schemas.SRC_TOKEN_COUNT)] = d.srcTokens();
            v[out.fieldIndex(Schemas.TGT_TOKEN_COUNT)] = d.tgtTokens();
            if (settings.emitSentences()) {
                v[out.fieldIndex(Schemas.SENTENCES)] = sentencesColumn(d.sentences());
            }
        } else {
            settle(it);
            v[out.fieldIndex(Schemas.TRANSLATION)] = t == null ? (it.status == RowStatus.EMPTY ? emptyTranslation(it) : null) : t.text();
            v[out.fieldIndex(Schemas.SCORE)] = t == null ? null : t.best().score();
            v[out.fieldIndex(Schemas.STATUS)] = (it.status == null ? RowStatus.ERROR : it.status).value();
            v[out.fieldIndex(Schemas.MESSAGE)] = it.status == null ? "no result (internal error)" : it.message;
            v[out.fieldIndex(Schemas.SRC_TOKEN_COUNT)] = it.srcTokens;
            v[out.fieldIndex(Schemas.TGT_TOKEN_COUNT)] = t == null ? 0 : t.best().generatedLength();
            if (settings.emitSentences()) {
                List<SentenceResult> one = new ArrayList<>();
                if (it.source != null) {
                    one.add(new SentenceResult(it.source, (String) v[out.fieldIndex(Schemas.TRANSLATION)],
                            (Double) v[out.fieldIndex(Schemas.SCORE)], it.status == null ? RowStatus.ERROR : it.status,
                            (String) v[out.fieldIndex(Schemas.MESSAGE)], it.srcTokens, 0));
                }
                v[out.fieldIndex(Schemas.SENTENCES)] = it.status == RowStatus.EMPTY ? sentencesColumn(List.of()) : sentencesColumn(one);
            }
        }
        v[out.fieldIndex(Schemas.ID)] = it.input == null ? it.id : it.input.get(inId);
        v[out.fieldIndex(Schemas.SOURCE)] = it.source;
        v[out.fieldIndex(Schemas.SOURCE_FILE)] = it.file;
        v[out.fieldIndex(Schemas.RECORD)] = it.id;
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
        for (int k = 0; k < keptCount; k++) {
            v[outKept + k] = it.input == null ? null : it.input.get(Schemas.INPUT_FIXED + k);
        }
        return RowFactory.create(v);
    }

    /** An empty row's translation: "" (with --split-sentences its white space, kept as it is). */
    private String emptyTranslation(Item it) {
        return splitter != null && it.source != null ? it.source : "";
    }

    private static Object sentencesColumn(List<SentenceResult> rs) {
        Object[] rows = new Object[rs.size()];
        for (int i = 0; i < rs.size(); i++) {
            SentenceResult r = rs.get(i);
            rows[i] = RowFactory.create(r.source(), r.translation(), r.score(), r.status().value(), r.message());
        }
        return ScalaSeqs.wrap(rows);
    }

    private static String join(String a, String b) {
        return a == null ? b : a + "; " + b;
    }
}
