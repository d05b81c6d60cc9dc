package io.sparknmt.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Corpus BLEU compatible with sacreBLEU's defaults: the 13a tokenizer, 4-gram precisions with
 * clipped counts summed over the corpus, the 'exp' smoothing, the brevity penalty, one reference
 * per sentence, case-sensitive.
 */
public final class Bleu {
    private Bleu() {
    }

    private static final int ORDER = 4;
    private static final Pattern PUNCT = Pattern.compile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])");
    private static final Pattern PERIOD_COMMA_AFTER = Pattern.compile("([^0-9])([\\.,])");
    private static final Pattern PERIOD_COMMA_BEFORE = Pattern.compile("([\\.,])([^0-9])");
    private static final Pattern DASH_AFTER_DIGIT = Pattern.compile("([0-9])(-)");

    /** The result and its statistics. */
    public record Result(double score, long[] correct, long[] total, long sysLen, long refLen) {
        public double brevityPenalty() {
            return sysLen == 0 ? 0.0 : sysLen > refLen ? 1.0 : Math.exp(1.0 - (double) refLen / sysLen);
        }
    }

    /** What sacreBLEU does to a segment before counting: rstrip, then the 13a tokenizer. */
    public static String tokenize(String segment) {
        return tokenize13a(pythonRstrip(segment));
    }

    /** sacreBLEU's tokenizer_13a. */
    public static String tokenize13a(String line) {
        line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ");
        if (line.indexOf('&') >= 0) {
            line = line.replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
        }
        line = " " + line + " ";
        line = PUNCT.matcher(line).replaceAll(" $1 ");
        line = PERIOD_COMMA_AFTER.matcher(line).replaceAll("$1 $2 ");
        line = PERIOD_COMMA_BEFORE.matcher(line).replaceAll(" $1 $2");
        line = DASH_AFTER_DIGIT.matcher(line).replaceAll("$1 $2 ");
        return String.join(" ", splitPythonWhitespace(line));
    }

    /** Python's str.split(): runs of whitespace separate, empty pieces dropped. */
    static List<String> splitPythonWhitespace(String s) {
        List<String> out = new java.util.ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && isSpace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !isSpace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(s.substring(start, i));
            }
        }
        return out;
    }

    private static String pythonRstrip(String s) {
        int e = s.length();
        while (e > 0 && isSpace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(0, e);
    }

    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085' || (c >= 0x1c && c <= 0x1f);
    }

    /** Corpus BLEU (0..100) of hypotheses against one reference each. */
    public static Result corpus(List<String> hypotheses, List<String> references) {
        return corpusMulti(hypotheses, List.of(references));
    }

    /**
     * Corpus BLEU against several reference streams (each parallel to the hypotheses): n-gram
     * counts clipped by their maximum over the references, the reference length closest to the
     * hypothesis' (ties: the shorter). Empty references are ignored, as sacreBLEU does.
     */
    public static Result corpusMulti(List<String> hypotheses, List<List<String>> referenceStreams) {
        for (List<String> s : referenceStreams) {
            if (s.size() != hypotheses.size()) {
                throw new IllegalArgumentException(hypotheses.size() + " hypotheses but a reference stream of " + s.size());
            }
        }
        long[] correct = new long[ORDER];
        long[] total = new long[ORDER];
        long sysLen = 0;
        long refLen = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            List<String> hyp = splitPythonWhitespace(tokenize(hypotheses.get(i)));
            Map<List<String>, Integer> refMax = new HashMap<>();
            int closest = -1;
            for (List<String> stream : referenceStreams) {
                String r = stream.get(i);
                if (r == null || r.isEmpty()) {
                    continue;
                }
                List<String> ref = splitPythonWhitespace(tokenize(r));
                int d = Math.abs(ref.size() - hyp.size());
                if (closest < 0 || d < Math.abs(closest - hyp.size()) || (d == Math.abs(closest - hyp.size()) && ref.size() < closest)) {
                    closest = ref.size();
                }
                for (int n = 1; n <= ORDER; n++) {
                    ngrams(ref, n).forEach((g, c) -> refMax.merge(g, c, Math::max));
                }
            }
            if (closest < 0) {
                throw new IllegalArgumentException("segment " + i + " has no non-empty reference");
            }
            sysLen += hyp.size();
            refLen += closest;
            for (int n = 1; n <= ORDER; n++) {
                for (Map.Entry<List<String>, Integer> e : ngrams(hyp, n).entrySet()) {
                    correct[n - 1] += Math.min(e.getValue(), refMax.getOrDefault(e.getKey(), 0));
                }
                total[n - 1] += Math.max(0, hyp.size() - n + 1);
            }
        }
        return new Result(score(correct, total, sysLen, refLen), correct, total, sysLen, refLen);
    }

    private static Map<List<String>, Integer> ngrams(List<String> words, int n) {
        Map<List<String>, Integer> m = new HashMap<>();
        for (int i = 0; i + n <= words.size(); i++) {
            m.merge(words.subList(i, i + n), 1, Integer::sum);
        }
        return m;
    }

    static double score(long[] correct, long[] total, long sysLen, long refLen) {
        if (sysLen == 0 || java.util.Arrays.stream(correct).allMatch(c -> c == 0)) {
            return 0.0; // sacreBLEU stops early when nothing matches
        }
        double[] precisions = new double[ORDER];
        double smooth = 1.0;
        for (int n = 0; n < ORDER; n++) {
            if (total[n] == 0) {
                break;
            }
            if (correct[n] == 0) {
                smooth *= 2;
                precisions[n] = 100.0 / (smooth * total[n]);
            } else {
                precisions[n] = 100.0 * correct[n] / total[n];
            }
        }
        double logSum = 0;
        for (double p : precisions) {
            logSum += p == 0 ? -9999999999.0 : Math.log(p);
        }
        double bp = sysLen > refLen ? 1.0 : Math.exp(1.0 - (double) refLen / sysLen);
        return bp * Math.exp(logSum / ORDER);
    }
}
