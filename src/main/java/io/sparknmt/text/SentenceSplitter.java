package io.sparknmt.text;

import com.ibm.icu.text.BreakIterator;
import com.ibm.icu.text.FilteredBreakIteratorBuilder;
import com.ibm.icu.util.ULocale;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.ToIntFunction;

/**
 * Cuts a text into sentences, keeping every separator: a pure function of the text (and the
 * language), {@code split(t).join().equals(t)} for every string.
 *
 * <p>The segmenter is ICU4J's sentence {@link BreakIterator} (Unicode UAX #29 sentence rules with
 * CLDR's per-language data), wrapped in ICU's {@link FilteredBreakIteratorBuilder} so that the
 * language's known abbreviations ("Mr.", "Dr.", "e.g." in English; "Nr.", "z.B." in German) do not
 * end a sentence. Why ICU4J: it is the segmenter the Unicode consortium maintains (the same rules
 * as ICU4C in browsers and databases), it needs no trained model and no download, it covers
 * every script (CJK full stops, Devanagari danda, Arabic question mark, ...), and its version is
 * pinned by this project (78.3, the one Spark 4.2 ships), so the same text splits the same way on
 * every JDK and Spark line; the JDK's own {@code java.text.BreakIterator} has no abbreviation
 * data and its rules differ between JDK releases; OpenNLP and similar need a trained model per
 * language.
 *
 * <p>A line end always ends a sentence (UAX #29 rule SB4), so a newline or a blank line between
 * sentences always splits. The white space around each sentence (Java white space and Unicode
 * space separators: spaces, tabs, line ends, no-break and ideographic spaces) goes to the
 * separators, verbatim; what ICU calls a sentence but holds only white space is a separator, not
 * a sentence. A leading {@code >>xx<<} language code (with the white space after it) is kept
 * apart in {@link Document#prefix()}: it applies to every sentence.
 *
 * <p>Instances are immutable and thread-safe (each call works on a clone of the iterator).
 */
public final class SentenceSplitter implements Serializable {
    private static final long serialVersionUID = 1L;
    /** A leading Marian language code: {@code >>} + no white space or angle brackets + {@code <<}. */
    private static final Pattern CODE = Pattern.compile("^>>[^\\s<>]+<<");

    private final String language;
    private transient BreakIterator prototype;

    /**
     * @param language a BCP 47 / ISO 639 language code ({@code en}, {@code de}, {@code zh}, {@code eng});
     *                 null, empty or unknown codes get ICU's root rules (language-independent, no abbreviations)
     */
    public SentenceSplitter(String language) {
        this.language = language == null ? "" : language.trim();
        this.prototype = build(this.language);
    }

    /** The language the splitter was made for, as given. */
    public String language() {
        return language;
    }

    private static BreakIterator build(String language) {
        ULocale locale = language.isEmpty() ? ULocale.ROOT : ULocale.createCanonical(language.replace('_', '-'));
        BreakIterator base = BreakIterator.getSentenceInstance(locale);
        try {
            return FilteredBreakIteratorBuilder.getInstance(locale).wrapIteratorWithFilter(base);
        } catch (RuntimeException e) {
            return base; // no abbreviation data for this language: the plain rules
        }
    }

    private BreakIterator iterator() {
        BreakIterator p = prototype;
        if (p == null) { // after deserialization
            p = build(language);
            prototype = p;
        }
        return (BreakIterator) p.clone();
    }

    /** Splits {@code text} into sentences and separators (see the class comment). */
    public Document split(String text) {
        String prefix = "";
        String code = null;
        Matcher m = CODE.matcher(text);
        if (m.lookingAt()) {
            code = m.group();
            int end = m.end();
            while (end < text.length() && space(text.codePointAt(end))) {
                end += Character.charCount(text.codePointAt(end));
            }
            prefix = text.substring(0, end);
        }
        String body = text.substring(prefix.length());
        BreakIterator it = iterator();
        it.setText(body);
        java.util.TreeSet<Integer> bounds = new java.util.TreeSet<>();
        for (int b = it.first(); b != BreakIterator.DONE; b = it.next()) {
            bounds.add(b);
        }
        digitStarts(body, bounds);
        List<String> cores = new ArrayList<>();
        List<String> gaps = new ArrayList<>(); // gaps.get(i) precedes cores.get(i); the last one trails
        StringBuilder gap = new StringBuilder();
        Integer[] cuts = bounds.toArray(Integer[]::new);
        for (int c = 1; c < cuts.length; c++) {
            int start = cuts[c - 1];
            int end = cuts[c];
            int a = start;
            while (a < end && space(body.codePointAt(a))) {
                a += Character.charCount(body.codePointAt(a));
            }
            int b = end;
            while (b > a && space(body.codePointBefore(b))) {
                b -= Character.charCount(body.codePointBefore(b));
            }
            gap.append(body, start, a);
            if (a < b) {
                gaps.add(gap.toString());
                gap.setLength(0);
                cores.add(body.substring(a, b));
                gap.append(body, b, end);
            }
        }
        gaps.add(gap.toString());
        List<Segment> segments = new ArrayList<>(cores.size());
        for (int i = 0; i < cores.size(); i++) {
            segments.add(new Segment(cores.get(i), gaps.get(i + 1)));
        }
        return new Document(prefix, code, gaps.get(0), segments);
    }

    /** A full stop (closing quotes or brackets after it), white space on the line, then a digit. */
    private static final Pattern STOP_THEN_DIGIT = Pattern.compile("\\.[\"'\u2019\u201D)\\]]*[ \t\u00A0]+(?=\\p{Nd})");
    /** Words that, abbreviated, are often followed by a number ("No. 5", "Jan. 3", "Fig. 2", "p. 12"). */
    private static final java.util.Set<String> BEFORE_NUMBERS = java.util.Set.of("no", "nos", "nr", "fig", "figs", "vol",
            "vols", "ch", "chap", "sec", "art", "approx", "ca", "cf", "pp", "eq", "eqs", "ref", "refs", "tab", "op", "para",
            "pt", "pts", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mr", "mrs",
            "ms", "dr", "st", "ave", "rd", "mt", "ft", "gen", "gov", "sen", "rep", "col", "lt", "sgt", "capt", "prof", "rev",
            "inc", "ltd", "co", "corp", "vs", "nom", "bd", "hr", "tel", "abs", "abb", "bzw", "ziff", "s");

    /**
     * UAX #29 does not end a sentence at "word. 3 more words" (a digit, then a lower-case letter):
     * "2 dogs run." after "A man sits." stays glued to it. This adds that break, unless the word
     * before the full stop is a number, a single letter, holds a dot itself ("U.S."), or is an
     * abbreviation often followed by a number ({@link #BEFORE_NUMBERS}).
     */
    private static void digitStarts(String body, java.util.TreeSet<Integer> bounds) {
        Matcher m = STOP_THEN_DIGIT.matcher(body);
        while (m.find()) {
            int stop = m.start();
            int w = stop;
            while (w > 0 && !space(body.codePointBefore(w))) {
                w -= Character.charCount(body.codePointBefore(w));
            }
            String word = body.substring(w, stop);
            while (!word.isEmpty() && !Character.isLetterOrDigit(word.codePointAt(0))) {
                word = word.substring(Character.charCount(word.codePointAt(0))); // opening quotes, brackets
            }
            if (word.codePointCount(0, word.length()) < 2 || word.contains(".")
                    || !word.codePoints().allMatch(Character::isLetter)
                    || BEFORE_NUMBERS.contains(word.toLowerCase(java.util.Locale.ROOT))) {
                continue;
            }
            bounds.add(m.end());
        }
    }

    /** What goes into separators: Java white space and Unicode space separators (no-break, ideographic). */
    static boolean space(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp);
    }

    /** Clause punctuation after which a too-long sentence may be cut (Latin, CJK full-width, Arabic). */
    private static boolean clausePunct(int cp) {
        return cp == ',' || cp == ';' || cp == ':' || cp == '\uFF0C' || cp == '\uFF1B' || cp == '\uFF1A'
                || cp == '\u3001' || cp == '\u060C' || cp == '\u061B' || cp == '\u2014' || cp == '\u2013';
    }

    private static boolean fullWidth(int cp) {
        return cp == '\uFF0C' || cp == '\uFF1B' || cp == '\uFF1A' || cp == '\u3001';
    }

    /**
     * Cuts a sentence that is too long for the model at clause punctuation ({@code , ; :}, dashes,
     * their full-width and Arabic forms), packing consecutive clauses into parts of at most
     * {@code maxTokens} (as {@code tokens} counts them) so that each part is as long as allowed. A
     * cut falls after the punctuation and its white space (the white space is the part's
     * trailing separator); full-width CJK punctuation needs no white space after it. A single
     * clause that alone is over the limit stays one part: the caller cuts it further (token
     * windows). Joining the parts' texts and trailing separators gives the sentence back exactly.
     */
    public static List<Segment> clauses(String sentence, ToIntFunction<String> tokens, int maxTokens) {
        List<int[]> pieces = new ArrayList<>(); // {start, end of text, end of trailing white space}
        int start = 0;
        for (int i = 0; i < sentence.length(); ) {
            int cp = sentence.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (clausePunct(cp)) {
                int ws = next;
                while (ws < sentence.length() && space(sentence.codePointAt(ws))) {
                    ws += Character.charCount(sentence.codePointAt(ws));
                }
                boolean cut = (ws > next || fullWidth(cp)) && ws < sentence.length();
                if (cut) {
                    pieces.add(new int[]{start, next, ws});
                    start = ws;
                    i = ws;
                    continue;
                }
            }
            i = next;
        }
        pieces.add(new int[]{start, sentence.length(), sentence.length()});
        List<Segment> out = new ArrayList<>();
        int p = 0;
        while (p < pieces.size()) {
            int first = p;
            int last = p; // the part is pieces first..last
            while (last + 1 < pieces.size()
                    && tokens.applyAsInt(sentence.substring(pieces.get(first)[0], pieces.get(last + 1)[1])) <= maxTokens) {
                last++;
            }
            out.add(new Segment(sentence.substring(pieces.get(first)[0], pieces.get(last)[1]),
                    sentence.substring(pieces.get(last)[1], pieces.get(last)[2])));
            p = last + 1;
        }
        return out;
    }
}
