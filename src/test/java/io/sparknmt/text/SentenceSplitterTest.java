package io.sparknmt.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SentenceSplitterTest {
    private final SentenceSplitter en = new SentenceSplitter("en");

    private static List<String> texts(Document d) {
        return d.segments().stream().map(Segment::text).toList();
    }

    private static List<String> trailing(Document d) {
        return d.segments().stream().map(Segment::trailing).toList();
    }

    @Test
    void sentencesAndTheirSeparatorsExactly() {
        String t = "A man is cooking. Two dogs play.  A girl runs!\tIs it?\nA bird sings.\n\nNew paragraph here.\r\n";
        Document d = en.split(t);
        assertEquals(List.of("A man is cooking.", "Two dogs play.", "A girl runs!", "Is it?", "A bird sings.",
                "New paragraph here."), texts(d));
        assertEquals(List.of(" ", "  ", "\t", "\n", "\n\n", "\r\n"), trailing(d));
        assertEquals("", d.leading());
        assertEquals("", d.prefix());
        assertNull(d.code());
        assertEquals(t, d.join());
    }

    @Test
    void leadingWhiteSpaceAndWhiteSpaceOnlyTexts() {
        Document d = en.split("  \n Hello there. ");
        assertEquals("  \n ", d.leading());
        assertEquals(List.of("Hello there."), texts(d));
        assertEquals(List.of(" "), trailing(d));
        for (String blank : new String[]{"", " ", "\n\n", " \t\u00A0\u3000 "}) {
            Document b = en.split(blank);
            assertEquals(List.of(), b.segments());
            assertEquals(blank, b.leading());
            assertEquals(blank, b.join());
        }
    }

    @Test
    void englishAbbreviationsDoNotEndASentence() {
        Document d = en.split("Mr. Smith met Mrs. Jones at noon. They talked.");
        assertEquals(List.of("Mr. Smith met Mrs. Jones at noon.", "They talked."), texts(d));
        // without the abbreviation data (root rules) "Mr." ends a sentence
        assertEquals(4, new SentenceSplitter("").split("Mr. Smith met Mrs. Jones at noon. They talked.").segments().size());
    }

    @Test
    void aSentenceThatStartsWithADigitStartsANewSentence() {
        assertEquals(List.of("A man sits.", "2 dogs run.", "3 boys swim!", "Then 4."),
                texts(en.split("A man sits. 2 dogs run.  3 boys swim! Then 4.")));
        // but not after numbers, initials or abbreviations that take one
        for (String one : new String[]{"See No. 5 here.", "Born on Jan. 3 in town.", "Version 2. 3 is out.",
                "Page p. 12 now.", "The U.S. 5 cent coin.", "See Fig. 2 below."}) {
            assertEquals(List.of(one), texts(en.split(one)), one);
        }
    }

    @Test
    void otherScriptsSplitAtTheirOwnFullStops() {
        SentenceSplitter zh = new SentenceSplitter("zh");
        assertEquals(List.of("我很好。", "你呢？", "好的！"), texts(zh.split("我很好。你呢？好的！")));
        SentenceSplitter root = new SentenceSplitter(null);
        assertEquals(List.of("One 😀.", "Two."), texts(root.split("One 😀. Two.")));
        SentenceSplitter eng = new SentenceSplitter("eng"); // ISO 639-3, as Tatoeba models name it
        assertEquals(List.of("One.", "Two."), texts(eng.split("One. Two.")));
    }

    @Test
    void aLeadingLanguageCodeIsKeptApart() {
        Document d = en.split(">>de<<  One. Two.");
        assertEquals(">>de<<  ", d.prefix());
        assertEquals(">>de<<", d.code());
        assertEquals(List.of("One.", "Two."), texts(d));
        assertEquals(">>de<<  One. Two.", d.join());
        assertNull(en.split("a >>de<< b.").code());
    }

    @Test
    void joinGivesBackAnyText() {
        Random r = new Random(15);
        String[] parts = {"A dog runs.", "Why?", "Mr. X", "e.g.", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00A0",
                "\u2028", "😀", "。", "ok", "\u200B", ">>de<<", "<<", "…", "\"Hi.\"", "(yes.)", ",", "; "};
        for (int n = 0; n < 3000; n++) {
            StringBuilder b = new StringBuilder();
            int k = r.nextInt(12);
            for (int i = 0; i < k; i++) {
                b.append(parts[r.nextInt(parts.length)]);
            }
            String t = b.toString();
            Document d = en.split(t);
            assertEquals(t, d.join(), () -> "text: " + t);
            for (Segment s : d.segments()) {
                assertTrue(!s.text().isEmpty() && !SentenceSplitter.space(s.text().codePointAt(0))
                        && !SentenceSplitter.space(s.text().codePointBefore(s.text().length())), s::toString);
                assertTrue(s.trailing().codePoints().allMatch(SentenceSplitter::space), s::toString);
            }
        }
    }

    @Test
    void clausesPackUpToTheLimitAndKeepTheirSeparators() {
        String s = "one two, three four; five six: seven eight, nine";
        // tokens = words + 1 (as </s>)
        List<Segment> c = SentenceSplitter.clauses(s, t -> t.split("\\s+").length + 1, 5);
        assertEquals(List.of("one two, three four;", "five six: seven eight,", "nine"),
                c.stream().map(Segment::text).toList());
        assertEquals(List.of(" ", " ", ""), c.stream().map(Segment::trailing).toList());
        StringBuilder b = new StringBuilder();
        c.forEach(x -> b.append(x.text()).append(x.trailing()));
        assertEquals(s, b.toString());
        // a clause alone over the limit stays one part
        assertEquals(List.of("a b c d e f g,", "h"), SentenceSplitter.clauses("a b c d e f g, h",
                t -> t.split("\\s+").length + 1, 3).stream().map(Segment::text).toList());
        // full-width CJK commas cut without white space
        assertEquals(List.of("甲乙，", "丙丁"), SentenceSplitter.clauses("甲乙，丙丁", t -> t.length(), 3)
                .stream().map(Segment::text).toList());
    }
}
