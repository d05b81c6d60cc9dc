package io.sparknmt.tokenizer;

import static io.sparknmt.Fixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Token ids and texts against SentencePiece's own Python module (tools/reference fixtures). */
class MarianTokenizerTest {
    static MarianTokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        tok = MarianTokenizer.load(TestPaths.sampleModel());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void encodeMatchesTheReferenceOnEveryFixture() throws IOException {
        List<JsonNode> cases = Fixtures.jsonl("tokenize.jsonl");
        assertTrue(cases.size() >= 250);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            assertArrayEquals(ints(c.get("ids")), tok.encode(text), () -> "text: " + text);
        }
    }

    /** Literal </s>, <unk>, <pad> in the input: split out as transformers does (special_tokens.jsonl). */
    @Test
    void literalSpecialTokenTextIsSplitOutAsTransformersDoes() throws IOException {
        List<JsonNode> cases = Fixtures.jsonl("special_tokens.jsonl");
        assertTrue(cases.size() >= 20);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            List<String> pieces = new java.util.ArrayList<>();
            c.get("pieces").forEach(p -> pieces.add(p.asText()));
            assertEquals(pieces, tok.pieces(text), () -> "text: " + text);
            assertArrayEquals(ints(c.get("ids")), tok.encode(text), () -> "text: " + text);
        }
        assertEquals(List.of("\u2581A", "</s>", ">>fr<<", "\u2581b"), tok.pieces("A </s>>>fr<< b"));
    }

    @Test
    void decodeMatchesTheReferenceOnEveryFixture() throws IOException {
        for (JsonNode c : Fixtures.jsonl("detok.jsonl")) {
            int[] ids = ints(c.get("ids"));
            assertEquals(c.get("text").asText(), tok.decode(ids), () -> "ids: " + java.util.Arrays.toString(ids));
        }
    }

    @Test
    void languageCodeIsOneTokenAndEosIsAppended() {
        int[] ids = tok.encode(">>de<< A dog.");
        assertEquals(tok.eosId(), ids[ids.length - 1]);
        assertEquals(">>de<<", tok.pieces(">>de<< A dog.").get(0));
        assertArrayEquals(new int[]{tok.eosId()}, tok.encode(""));
    }

    @Test
    void pythonStripMatchesStrIsspace() {
        assertEquals("a b", MarianTokenizer.pythonStrip("\u00a0\t a b \u2003\u0085\u001f"));
    }

    @Test
    void aTargetLanguageCodeIsOneTokenAndTheTextStaysWhole() {
        String text = "A dog << runs >> in the park.";
        int[] plain = tok.encode(text);
        int[] coded = tok.encode("de", text);
        assertEquals(plain.length + 1, coded.length);
        assertEquals(tok.encode(">>de<<")[0], coded[0], "the code's own id");
        assertTrue(coded[0] != tok.unkId());
        assertArrayEquals(plain, java.util.Arrays.copyOfRange(coded, 1, coded.length), "the text tokenized whole");
        // what prepending the code as text gives (transformers' greedy pattern): one unknown token
        assertEquals(tok.unkId(), tok.encode(">>de<< " + text)[0]);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> tok.encode("qq", text));
    }

    @Test
    void aTargetLanguageCodeGivesWhatTransformersGivesForOrdinaryText() throws IOException {
        for (String line : java.nio.file.Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"))) {
            assertArrayEquals(tok.encode(">>de<< " + line), tok.encode("de", line), line);
        }
    }
}
