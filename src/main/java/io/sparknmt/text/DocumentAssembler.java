package io.sparknmt.text;

import io.sparknmt.io.RowStatus;
import io.sparknmt.io.TextChecks;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts documents back together: pure functions from per-sentence (or per-part) results and the
 * separators of {@link Document} / {@link SentenceSplitter#clauses} to one result.
 *
 * <p>Statuses, worst first: {@code error} > {@code truncated} > {@code split} > {@code ok} >
 * {@code empty}. A row has the worst status of its sentences ({@code empty} only when it has no
 * sentence with anything to translate); its message lists the sentences that are neither ok nor
 * empty, "sentence i: ..." with 0-based i, the first {@link #MAX_MESSAGES} of them.
 *
 * <p>Score of a document (and of a sentence translated in parts): the mean of the sentence scores
 * weighted by their generated tokens ({@code </s>} included). transformers' score of one sentence
 * is its log-probability divided by its length (with the default length_penalty 1.0), so the
 * weighted mean is the whole document's log-probability per generated token: the same quantity
 * as a sentence's score, comparable between documents of any length, and equal to the sentence's
 * own score for a one-sentence document.
 */
public final class DocumentAssembler {
    /** Sentences named in a row's message; the rest are counted. */
    public static final int MAX_MESSAGES = 5;

    private DocumentAssembler() {
    }

    /** How bad a status is: higher is worse. */
    public static int severity(RowStatus s) {
        return switch (s) {
            case EMPTY -> 0;
            case OK -> 1;
            case SPLIT -> 2;
            case TRUNCATED -> 3;
            case ERROR -> 4;
        };
    }

    /** The worse of two statuses. */
    public static RowStatus worse(RowStatus a, RowStatus b) {
        return severity(a) >= severity(b) ? a : b;
    }

    /**
     * A document's row from its sentences' results, {@code sentences.get(i)} being the result of
     * {@code doc.segments().get(i)}: the translations joined by the document's separators (its
     * leading white space, then each sentence's translation followed by the white space that
     * followed the sentence; the language-code prefix is not part of the translation).
     */
    public static DocumentResult assemble(Document doc, List<SentenceResult> sentences) {
        if (sentences.size() != doc.segments().size()) {
            throw new IllegalArgumentException(sentences.size() + " results for " + doc.segments().size() + " sentences");
        }
        RowStatus status = RowStatus.EMPTY;
        int src = 0;
        int tgt = 0;
        for (SentenceResult r : sentences) {
            status = worse(status, r.status());
            src += r.srcTokens();
            tgt += r.tgtTokens();
        }
        String translation = null;
        if (status != RowStatus.ERROR) {
            StringBuilder b = new StringBuilder(doc.leading());
            for (int i = 0; i < sentences.size(); i++) {
                SentenceResult r = sentences.get(i);
                b.append(r.translation() == null ? r.source() : r.translation()).append(doc.segments().get(i).trailing());
            }
            translation = b.toString();
        }
        String message;
        if (status == RowStatus.EMPTY) {
            String body = doc.join().substring(doc.prefix().length());
            message = sentences.isEmpty() ? TextChecks.emptyReason(body)
                    : "every sentence has only invisible characters (whitespace, control, format or other default-ignorable code points)";
        } else {
            message = messages(sentences, "sentence ");
        }
        return new DocumentResult(translation, status == RowStatus.ERROR ? null : score(sentences), status, message,
                src, tgt, List.copyOf(sentences));
    }

    /**
     * One sentence from the parts it was translated in ({@link SentenceSplitter#clauses}, token windows):
     * the parts' translations joined by {@code joiners} ({@code joiners.get(i)} goes between part i and
     * part i + 1), status at least {@code split}, {@code how} first in the message.
     */
    public static SentenceResult parts(String source, List<SentenceResult> parts, List<String> joiners, String how) {
        if (joiners.size() != parts.size() - 1) {
            throw new IllegalArgumentException(joiners.size() + " joiners for " + parts.size() + " parts");
        }
        RowStatus status = RowStatus.SPLIT;
        int src = 0;
        int tgt = 0;
        for (SentenceResult p : parts) {
            status = worse(status, p.status());
            src += p.srcTokens();
            tgt += p.tgtTokens();
        }
        String translation = null;
        if (status != RowStatus.ERROR) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < parts.size(); i++) {
                SentenceResult p = parts.get(i);
                b.append(p.translation() == null ? p.source() : p.translation());
                if (i < joiners.size()) {
                    b.append(joiners.get(i));
                }
            }
            translation = b.toString();
        }
        String more = messages(parts, "part ");
        return new SentenceResult(source, translation, status == RowStatus.ERROR ? null : score(parts), status,
                more == null ? how : how + "; " + more, src, tgt);
    }

    /**
     * Length-weighted mean of the scores: {@code sum(score_i * tgtTokens_i) / sum(tgtTokens_i)} over the
     * results that have a score; a lone score is returned as it is; null when none has one.
     */
    public static Double score(List<SentenceResult> results) {
        double num = 0;
        long den = 0;
        Double only = null;
        int scored = 0;
        for (SentenceResult r : results) {
            if (r.score() != null) {
                scored++;
                only = r.score();
                int w = Math.max(1, r.tgtTokens());
                num += r.score() * w;
                den += w;
            }
        }
        return scored == 0 ? null : scored == 1 ? only : num / den;
    }

    /** "sentence i: message" for the results that are neither ok nor empty, or null when there are none. */
    private static String messages(List<SentenceResult> results, String what) {
        List<String> out = new ArrayList<>();
        int shown = 0;
        int more = 0;
        for (int i = 0; i < results.size(); i++) {
            SentenceResult r = results.get(i);
            if (r.status() == RowStatus.OK || r.status() == RowStatus.EMPTY) {
                continue;
            }
            if (shown < MAX_MESSAGES) {
                out.add(what + i + " " + r.status().value() + ": " + r.message());
                shown++;
            } else {
                more++;
            }
        }
        if (more > 0) {
            out.add("and " + more + " more");
        }
        return out.isEmpty() ? null : String.join("; ", out);
    }
}
