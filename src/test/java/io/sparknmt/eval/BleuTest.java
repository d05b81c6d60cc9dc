package io.sparknmt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class BleuTest {

    @Test
    void matchesTheReferenceImplementationOnSmallCorpora() throws IOException {
        for (JsonNode c : Fixtures.jsonl("bleu_cases.jsonl")) {
            List<String> hyps = Fixtures.strings(c.get("hyps"));
            List<List<String>> refs = new java.util.ArrayList<>();
            c.get("refs").forEach(stream -> refs.add(Fixtures.strings(stream)));
            Bleu.Result r = Bleu.corpusMulti(hyps, refs);
            String name = c.get("name").asText();
            assertEquals(c.get("bleu").asDouble(), r.score(), 1e-9, name);
            assertEquals(c.get("sys_len").asLong(), r.sysLen(), name);
            assertEquals(c.get("ref_len").asLong(), r.refLen(), name);
            if (c.has("hyps_tokenized")) {
                List<String> tokd = Fixtures.strings(c.get("hyps_tokenized"));
                for (int i = 0; i < hyps.size(); i++) {
                    assertEquals(tokd.get(i), Bleu.tokenize(hyps.get(i)), name + " hyp " + i);
                }
            }
        }
    }

    @Test
    void perfectAndEmptyHypotheses() {
        assertEquals(100.0, Bleu.corpus(List.of("A dog runs in the park ."), List.of("A dog runs in the park .")).score(), 1e-9);
        assertEquals(0.0, Bleu.corpus(List.of(""), List.of("A dog runs.")).score(), 0.0);
    }

    /**
     * The Java engine's corpus BLEU on test_2016_flickr is within 0.3 of the PyTorch reference's, and the
     * sample model's beam-4 BLEU is at least 30.
     */
    @Test
    void engineBleuOnTest2016MatchesTheReference() throws IOException {
        JsonNode ref = Fixtures.json("bleu_ref.json").get("beam");
        List<String> src = Files.readAllLines(TestPaths.multi30k().resolve("test_2016_flickr.en"));
        List<String> tgt = Files.readAllLines(TestPaths.multi30k().resolve("test_2016_flickr.de"));
        List<String> refHyps = Fixtures.strings(ref.get("hyps"));
        assertEquals(src.size(), refHyps.size());
        // The reference's own BLEU, recomputed here, must be the one it reported.
        assertEquals(ref.get("bleu").asDouble(), Bleu.corpus(refHyps, tgt).score(), 1e-6);
        try (Translator t = Translator.load(TestPaths.sampleModel())) {
            List<Translation> out = t.translate(src, t.defaultOptions(), 32, 4096);
            List<String> hyps = out.stream().map(Translation::text).toList();
            double bleu = Bleu.corpus(hyps, tgt).score();
            long same = 0;
            for (int i = 0; i < hyps.size(); i++) {
                same += hyps.get(i).equals(refHyps.get(i)) ? 1 : 0;
            }
            System.out.printf("BLEU test_2016_flickr: spark-nmt %.2f, PyTorch reference %.2f; identical lines %d/%d%n",
                    bleu, ref.get("bleu").asDouble(), same, hyps.size());
            assertEquals(ref.get("bleu").asDouble(), bleu, 0.3);
            // the shipped sample model must translate (a new user's first translation looks like one)
            assertTrue(bleu >= 30.0, "sample model beam-4 BLEU " + bleu + " < 30");
        }
    }
}
