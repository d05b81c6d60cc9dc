package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.tools.BuildShortlist;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The opt-in vocabulary shortlist on the sample model: jobs/build-shortlist's builder, the file's
 * checks, and decoding through a batch's candidates only.
 */
class ShortlistTest {
    private static final Path CORPUS = TestPaths.repo().resolve("sample-data/corpus/en.txt");

    @TempDir
    Path tmp;

    /**
     * The shortlist shipped beside the sample model (sample-data/shortlist.json, jobs/build-shortlist
     * over the model's own greedy translations of 10,000 Multi30k training sentences, none of them
     * in test_2016_flickr) belongs to that model, narrows a batch of 32 to under a third of the
     * vocabulary, and costs under one BLEU point on sentences it was not built from.
     */
    @Test
    void shippedShortlistCostsLittleBleuOnUnseenSentences() throws Exception {
        ModelBundle bundle = ModelBundle.load(TestPaths.sampleModel());
        ModelBundle withList = bundle.withShortlist(TestPaths.repo().resolve("sample-data/shortlist.json"));
        List<String> src = Files.readAllLines(TestPaths.multi30k().resolve("test_2016_flickr.en")).subList(0, 200);
        List<String> ref = Files.readAllLines(TestPaths.multi30k().resolve("test_2016_flickr.de")).subList(0, 200);
        DecodeOptions greedy = DecodeOptions.greedy(64);
        try (Translator exact = Translator.of(bundle, KernelProvider.get());
             Translator fast = Translator.of(withList, KernelProvider.get())) {
            int[][] batch = new int[32][];
            for (int i = 0; i < 32; i++) {
                batch[i] = exact.tokenizer().encode(src.get(i));
            }
            int vocab = bundle.config().decoderVocabSize();
            int width = withList.shortlist().candidates(TokenIds.of(batch)).length;
            assertTrue(width < vocab / 3, "a batch of 32 scores " + width + " of " + vocab + " tokens");
            double a = io.sparknmt.eval.Bleu.corpus(texts(exact.translate(src, greedy, 32, 4096)), ref).score();
            double b = io.sparknmt.eval.Bleu.corpus(texts(fast.translate(src, greedy, 32, 4096)), ref).score();
            assertTrue(a > 25, "exact mode's BLEU " + a);
            assertTrue(Math.abs(a - b) < 1.0, "BLEU exact " + a + ", shortlist " + b);
        }
    }

    private static List<String> texts(List<Translation> out) {
        return out.stream().map(Translation::text).toList();
    }

    /**
     * Built from the model's own greedy translations with every co-occurring target kept, the
     * shortlist holds each of those outputs' tokens among its batch's candidates; the candidates'
     * logits are exact mode's, so greedy picks the same tokens: identical outputs, from a batch
     * view much narrower than the vocabulary.
     */
    @Test
    void ownTranslationsShortlistKeepsGreedyOutputs() throws Exception {
        Path file = tmp.resolve("sl.json");
        assertEquals(0, BuildShortlist.run("--model", TestPaths.sampleModel().toString(), "--source", CORPUS.toString(),
                "--output", file.toString(), "--sample", "64", "--per-source", "100000", "--frequent", "50",
                "--beam-size", "1", "--threads", "1"));
        ModelBundle bundle = ModelBundle.load(TestPaths.sampleModel());
        ModelBundle withList = bundle.withShortlist(file);
        Shortlist sl = withList.shortlist();
        assertTrue(sl.sources() > 50, "source tokens with candidates: " + sl.sources());
        List<String> lines = Files.readAllLines(CORPUS, StandardCharsets.UTF_8).subList(0, 64);
        DecodeOptions greedy = DecodeOptions.greedy(64);
        try (Translator exact = Translator.of(bundle, KernelProvider.get());
             Translator fast = Translator.of(withList, KernelProvider.get())) {
            List<Translation> a = exact.translate(lines, greedy, 32, 4096);
            List<Translation> b = fast.translate(lines, greedy, 32, 4096);
            int vocab = bundle.config().decoderVocabSize();
            int[][] src = new int[32][];
            for (int i = 0; i < 32; i++) {
                src[i] = exact.tokenizer().encode(lines.get(i));
            }
            int width = sl.candidates(TokenIds.of(src)).length;
            assertTrue(width < vocab / 4, "a batch of 32 scores " + width + " of " + vocab + " tokens");
            for (int i = 0; i < lines.size(); i++) {
                assertArrayEquals(a.get(i).best().tokens(), b.get(i).best().tokens(), "sentence " + i);
                assertEquals(a.get(i).text(), b.get(i).text());
            }
            // the scores are normalized over the candidates only: higher than exact mode's
            assertTrue(b.get(0).best().sumLogProb() > a.get(0).best().sumLogProb());
            // beam 4 through the shortlist decodes too, and its tokens come from the candidates
            List<Translation> beam = fast.translate(lines.subList(0, 8), DecodeOptions.beam(4, 64), 8, 4096);
            int[][] src8 = new int[8][];
            for (int i = 0; i < 8; i++) {
                src8[i] = exact.tokenizer().encode(lines.get(i));
            }
            int[] cand = sl.candidates(TokenIds.of(src8));
            for (Translation t : beam) {
                assertNotEquals("", t.text());
                for (int tok : t.best().tokens()) {
                    assertTrue(java.util.Arrays.binarySearch(cand, tok) >= 0, "token " + tok + " is not a candidate");
                }
            }
        }
    }

    /** A tiny shortlist leaves few tokens: the decoder can only say those (and the specials). */
    @Test
    void decodesOnlyCandidates() throws Exception {
        Path file = tmp.resolve("tiny.json");
        Files.writeString(file, "{\"format\": \"spark-nmt-shortlist\", \"version\": 1, \"frequent\": [\"▁Ein\", \".\"],"
                + " \"candidates\": {\"▁dog\": [\"▁Hund\"]}}");
        ModelBundle withList = ModelBundle.load(TestPaths.sampleModel()).withShortlist(file);
        try (Translator fast = Translator.of(withList, KernelProvider.get())) {
            int[] allowed = withList.shortlist().candidates(TokenIds.of(new int[][] {fast.tokenizer().encode("A dog runs.")}));
            List<Translation> t = fast.translate(List.of("A dog runs."), DecodeOptions.greedy(10), 1, 4096);
            for (int tok : t.get(0).best().tokens()) {
                assertTrue(java.util.Arrays.binarySearch(allowed, tok) >= 0, "token " + tok);
            }
            assertTrue(allowed.length <= 8, "allowed: " + allowed.length);
        }
    }

    @Test
    void refusesFilesForAnotherModelOrFormat() throws Exception {
        ModelBundle bundle = ModelBundle.load(TestPaths.sampleModel());
        Path other = tmp.resolve("other.json");
        Files.writeString(other, "{\"format\": \"spark-nmt-shortlist\", \"version\": 1,\n"
                + " \"candidates\": {\"▁dog\": [\"no-such-piece\"]}}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bundle.withShortlist(other));
        assertTrue(e.getMessage().contains(other.toString()) && e.getMessage().contains("no-such-piece")
                && e.getMessage().contains("line 2"), e.getMessage());
        Path notOne = tmp.resolve("not.json");
        Files.writeString(notOne, "{\"candidates\": {}}");
        e = assertThrows(ModelFormatException.class, () -> bundle.withShortlist(notOne));
        assertTrue(e.getMessage().contains("format"), e.getMessage());
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"format\": \"spark-nmt-shortlist\", \"frequent\": [");
        e = assertThrows(ModelFormatException.class, () -> bundle.withShortlist(broken));
        assertTrue(e.getMessage().contains(broken.toString()), e.getMessage());
        assertEquals(3, BuildShortlist.run("--model", tmp.toString(), "--source", CORPUS.toString(),
                "--output", tmp.resolve("x.json").toString()));
    }
}
