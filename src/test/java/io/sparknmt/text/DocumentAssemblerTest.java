package io.sparknmt.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.io.RowStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

class DocumentAssemblerTest {
    private static SentenceResult ok(String src, String tr, double score, int tgt) {
        return new SentenceResult(src, tr, score, RowStatus.OK, null, 3, tgt);
    }

    @Test
    void translationsJoinedByTheOriginalSeparators() {
        Document d = new SentenceSplitter("en").split(">>de<< \n One.  Two.\n\nThree.\t");
        DocumentResult r = DocumentAssembler.assemble(d, List.of(ok("One.", "Eins.", -0.5, 2),
                ok("Two.", "Zwei.", -1.0, 4), ok("Three.", "Drei.", -2.0, 2)));
        // the code and the white space after it are not part of the text
        assertEquals("Eins.  Zwei.\n\nDrei.\t", r.translation());
        assertEquals(RowStatus.OK, r.status());
        assertNull(r.message());
        assertEquals((-0.5 * 2 - 1.0 * 4 - 2.0 * 2) / 8, r.score(), 1e-15);
        assertEquals(9, r.srcTokens());
        assertEquals(8, r.tgtTokens());
        assertEquals(3, r.sentences().size());
    }

    @Test
    void aOneSentenceDocumentHasItsSentencesScoreExactly() {
        Document d = new SentenceSplitter("en").split("One.");
        double s = -0.123456789012345;
        assertEquals(s, DocumentAssembler.assemble(d, List.of(ok("One.", "Eins.", s, 7))).score());
    }

    @Test
    void theWorstSentenceDecidesAndTheMessageNamesIt() {
        Document d = new SentenceSplitter("en").split("A. B. C. D.");
        SentenceResult trunc = new SentenceResult("B.", "Bb", -1.0, RowStatus.TRUNCATED, "stopped", 3, 9);
        SentenceResult empty = new SentenceResult("C.", "C.", null, RowStatus.EMPTY, "invisible", 0, 0);
        DocumentResult r = DocumentAssembler.assemble(d, List.of(ok("A.", "Aa", -1, 2), trunc, empty, ok("D.", "Dd", -1, 2)));
        assertEquals(RowStatus.TRUNCATED, r.status());
        assertEquals("sentence 1 truncated: stopped", r.message());
        assertEquals("Aa Bb C. Dd", r.translation());
        SentenceResult err = new SentenceResult("D.", null, null, RowStatus.ERROR, "failed", 3, 0);
        DocumentResult e = DocumentAssembler.assemble(d, List.of(ok("A.", "Aa", -1, 2), trunc, empty, err));
        assertEquals(RowStatus.ERROR, e.status());
        assertNull(e.translation());
        assertNull(e.score());
        assertEquals("sentence 1 truncated: stopped; sentence 3 error: failed", e.message());
    }

    @Test
    void noSentenceIsEmptyAndKeepsItsWhiteSpace() {
        DocumentResult r = DocumentAssembler.assemble(new SentenceSplitter("en").split(" \n "), List.of());
        assertEquals(RowStatus.EMPTY, r.status());
        assertEquals(" \n ", r.translation());
        assertEquals("input is whitespace only", r.message());
        assertNull(r.score());
    }

    @Test
    void partsOfALongSentence() {
        SentenceResult p = DocumentAssembler.parts("a, b", List.of(ok("a,", "x,", -1, 1), ok("b", "y", -3, 3)),
                List.of(" "), "split into 2 parts");
        assertEquals("x, y", p.translation());
        assertEquals(RowStatus.SPLIT, p.status());
        assertEquals("split into 2 parts", p.message());
        assertEquals(-2.5, p.score(), 1e-15);
        assertEquals(6, p.srcTokens());
        assertTrue(DocumentAssembler.severity(RowStatus.ERROR) > DocumentAssembler.severity(RowStatus.TRUNCATED));
    }
}
