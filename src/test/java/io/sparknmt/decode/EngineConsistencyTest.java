package io.sparknmt.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.OffHeapFloats;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.TinyModels;
import io.sparknmt.model.Workspace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Properties of the decoder that hold for any weights: checked on random tiny checkpoints. */
class EngineConsistencyTest {
    /** Workspaces a test encodes in directly; closed after each test (their owner is the test). */
    private final List<Workspace> opened = new java.util.ArrayList<>();

    private Workspace fresh() {
        Workspace ws = new Workspace();
        opened.add(ws);
        return ws;
    }

    @org.junit.jupiter.api.AfterEach
    void closeWorkspaces() {
        opened.forEach(Workspace::close);
        opened.clear();
    }

    @TempDir
    static Path dir;
    static MarianModel fast;
    static MarianModel scalar;
    static GenerationConfig gen;
    static int[][] sources;

    @BeforeAll
    static void load() throws IOException {
        Path m = TinyModels.write(dir.resolve("tiny"), TinyModels.Spec.small().withDtype("F16"), 11);
        MarianConfig cfg = MarianConfig.read(m.resolve("config.json"));
        MarianWeights w = MarianWeights.load(m, cfg);
        gen = GenerationConfig.read(m, cfg);
        fast = new MarianModel(w, KernelProvider.get());
        scalar = new MarianModel(w, KernelProvider.scalar());
        Random r = new Random(2);
        sources = new int[9][];
        for (int i = 0; i < sources.length; i++) {
            int len = 1 + r.nextInt(12);
            sources[i] = new int[len + 1];
            for (int j = 0; j < len; j++) {
                sources[i][j] = 1 + r.nextInt(cfg.vocabSize() - 2); // no pad, no eos
            }
            sources[i][len] = 0;
        }
    }

    @Test
    void oneWorkspaceAcrossBatchesGivesWhatFreshOnesGive() {
        // shapes that grow, shrink and grow again, greedy and beam interleaved: the reused
        // buffers (heap activations, off-heap caches) must never leak state between batches
        int[][] order = {{0, 1, 2, 3, 4, 5, 6, 7, 8}, {3}, {5, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8}, {8, 2, 6}};
        long liveBefore = OffHeapFloats.liveBytes();
        long held;
        try (Workspace ws = new Workspace()) {
            for (int round = 0; round < order.length; round++) {
                int[][] src = new int[order[round].length][];
                for (int i = 0; i < src.length; i++) {
                    src[i] = sources[order[round][i]];
                }
                DecodeOptions opt = round % 2 == 0 ? new DecodeOptions(3, 20, 1.0, 2) : DecodeOptions.greedy(20);
                List<List<Hypothesis>> reused = decode(src, opt, ws);
                List<List<Hypothesis>> fresh;
                try (Workspace own = new Workspace()) {
                    fresh = decode(src, opt, own);
                }
                for (int i = 0; i < src.length; i++) {
                    for (int h = 0; h < fresh.get(i).size(); h++) {
                        assertArrayEquals(fresh.get(i).get(h).tokens(), reused.get(i).get(h).tokens(),
                                "round " + round + " sentence " + i);
                        assertEquals(fresh.get(i).get(h).score(), reused.get(i).get(h).score(), 0.0);
                    }
                }
            }
            held = ws.offHeapBytes();
            assertTrue(held > 0, "the caches are off-heap");
            assertEquals(liveBefore + held, OffHeapFloats.liveBytes(), "only this workspace's blocks are open");
        }
        assertEquals(liveBefore, OffHeapFloats.liveBytes(), "close frees every off-heap block");
    }

    private static List<List<Hypothesis>> decode(int[][] src, DecodeOptions opt, Workspace ws) {
        return decode(fast, src, opt, ws);
    }

    private static List<List<Hypothesis>> decode(MarianModel model, int[][] src, DecodeOptions opt) {
        try (Workspace ws = new Workspace()) {
            return decode(model, src, opt, ws);
        }
    }

    private static List<List<Hypothesis>> decode(MarianModel model, int[][] src, DecodeOptions opt, Workspace ws) {
        EncoderOutput enc = model.encode(src, ws);
        if (opt.beamSize() == 1) {
            return java.util.Arrays.stream(GreedySearch.run(model, gen, enc, opt, ws)).map(List::of).toList();
        }
        return BeamSearch.run(model, gen, enc, opt, ws);
    }

    @Test
    void greedyIsTheSameAloneAndInABatch() {
        List<List<Hypothesis>> batch = decode(fast, sources, DecodeOptions.greedy(20));
        for (int i = 0; i < sources.length; i++) {
            Hypothesis alone = decode(fast, new int[][]{sources[i]}, DecodeOptions.greedy(20)).get(0).get(0);
            assertArrayEquals(alone.tokens(), batch.get(i).get(0).tokens(), "sentence " + i);
            assertEquals(alone.sumLogProb(), batch.get(i).get(0).sumLogProb(), 0.0, "sentence " + i);
        }
    }

    @Test
    void beamSearchIsTheSameAloneAndInABatch() {
        DecodeOptions opt = new DecodeOptions(3, 20, 1.0, 3);
        List<List<Hypothesis>> batch = decode(fast, sources, opt);
        for (int i = 0; i < sources.length; i++) {
            List<Hypothesis> alone = decode(fast, new int[][]{sources[i]}, opt).get(0);
            assertEquals(alone.size(), batch.get(i).size());
            for (int h = 0; h < alone.size(); h++) {
                assertArrayEquals(alone.get(h).tokens(), batch.get(i).get(h).tokens(), "sentence " + i + " hyp " + h);
                assertEquals(alone.get(h).score(), batch.get(i).get(h).score(), 0.0);
            }
        }
    }

    @Test
    void beamOfOneIsGreedy() {
        EncoderOutput enc = fast.encode(sources, fresh());
        Hypothesis[] greedy = GreedySearch.run(fast, gen, enc, DecodeOptions.greedy(20));
        List<List<Hypothesis>> beam1 = BeamSearch.run(fast, gen, enc, new DecodeOptions(1, 20, 1.0, 1));
        for (int i = 0; i < sources.length; i++) {
            Hypothesis b = beam1.get(i).get(0);
            assertArrayEquals(greedy[i].tokens(), b.tokens(), "sentence " + i);
            if (greedy[i].generatedLength() < 19) { // not forced to end at max length (there the EOS counts 0 in beam search)
                assertEquals(greedy[i].score(), b.score(), 1e-4, "sentence " + i);
            }
        }
    }

    @Test
    void beamScoresAreSortedAndNormalisedByLength() {
        List<List<Hypothesis>> out = BeamSearch.run(fast, gen, fast.encode(sources, fresh()), new DecodeOptions(4, 20, 1.0, 4));
        for (List<Hypothesis> hs : out) {
            for (int h = 0; h < hs.size(); h++) {
                Hypothesis x = hs.get(h);
                assertEquals(x.sumLogProb() / x.generatedLength(), x.score(), 1e-9);
                if (h > 0) {
                    assertTrue(hs.get(h - 1).score() >= x.score());
                }
            }
        }
    }

    /** A tiny model whose every step prefers {@code token} by a logit margin of about 50. */
    private static MarianModel favouring(int token, String name) throws IOException {
        Path m = TinyModels.write(dir.resolve(name), TinyModels.Spec.small(), 11, token);
        return new MarianModel(MarianWeights.load(m, MarianConfig.read(m.resolve("config.json"))), KernelProvider.get());
    }

    @Test
    void maxLengthCutsAndSaysSo() throws IOException {
        // token 5 wins every step, so every sentence runs to max length (3: two generated tokens)
        MarianModel m = favouring(5, "favours-5");
        GenerationConfig noForcedEos = new GenerationConfig(gen.numBeams(), gen.maxLength(), gen.lengthPenalty(),
                gen.badTokenIds(), -1);
        for (Hypothesis x : GreedySearch.run(m, noForcedEos, m.encode(sources, fresh()), DecodeOptions.greedy(3))) {
            assertFalse(x.finished(), "cut at max length, so not finished");
            assertArrayEquals(new int[]{5, 5}, x.tokens());
        }
        // with forced_eos_token_id the last position is </s>: finished, one token before it
        assertEquals(0, gen.forcedEosId());
        for (Hypothesis x : GreedySearch.run(m, gen, m.encode(sources, fresh()), DecodeOptions.greedy(3))) {
            assertTrue(x.finished(), "forced </s> at max length");
            assertArrayEquals(new int[]{5}, x.tokens());
        }
    }

    @Test
    void padIsNeverGenerated() throws IOException {
        int pad = fast.config().padId();
        MarianModel m = favouring(pad, "favours-pad");
        // without the bad-words mask this model says nothing but pad: the check below can fail
        GenerationConfig unmasked = new GenerationConfig(gen.numBeams(), gen.maxLength(), gen.lengthPenalty(),
                new int[0], gen.forcedEosId());
        Hypothesis[] raw = GreedySearch.run(m, unmasked, m.encode(sources, fresh()), DecodeOptions.greedy(20));
        assertEquals(pad, raw[0].tokens()[0], "the favoured pad wins when unmasked");
        assertArrayEquals(new int[]{pad}, gen.badTokenIds());
        for (DecodeOptions opt : List.of(DecodeOptions.greedy(20), new DecodeOptions(3, 20, 1.0, 3))) {
            List<List<Hypothesis>> all = decode(m, sources, opt);
            for (List<Hypothesis> hs : all) {
                for (Hypothesis x : hs) {
                    for (int t : x.tokens()) {
                        assertTrue(t != pad, "pad generated with " + opt);
                    }
                }
            }
        }
    }

    @Test
    void scalarAndVectorKernelsAgree() {
        EncoderOutput a = fast.encode(sources, fresh());
        EncoderOutput b = scalar.encode(sources, fresh());
        for (int i = 0; i < a.hidden().length; i++) {
            assertEquals(b.hidden()[i], a.hidden()[i], 1e-4f, "encoder output " + i);
        }
        Hypothesis[] ga = GreedySearch.run(fast, gen, a, DecodeOptions.greedy(20));
        Hypothesis[] gb = GreedySearch.run(scalar, gen, b, DecodeOptions.greedy(20));
        for (int i = 0; i < ga.length; i++) {
            assertArrayEquals(gb[i].tokens(), ga[i].tokens(), "sentence " + i);
        }
    }
}
