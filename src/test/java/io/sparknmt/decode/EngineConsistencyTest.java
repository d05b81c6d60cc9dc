package io.sparknmt.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Properties of the decoder that hold for any weights: checked on random tiny checkpoints. */
class EngineConsistencyTest {
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
    void greedyIsTheSameAloneAndInABatch() {
        EncoderOutput all = fast.encode(sources);
        Hypothesis[] batch = GreedySearch.run(fast, gen, all, DecodeOptions.greedy(20));
        for (int i = 0; i < sources.length; i++) {
            Hypothesis alone = GreedySearch.run(fast, gen, fast.encode(new int[][]{sources[i]}), DecodeOptions.greedy(20))[0];
            assertArrayEquals(alone.tokens(), batch[i].tokens(), "sentence " + i);
            assertEquals(alone.sumLogProb(), batch[i].sumLogProb(), 0.0, "sentence " + i);
        }
    }

    @Test
    void beamSearchIsTheSameAloneAndInABatch() {
        DecodeOptions opt = new DecodeOptions(3, 20, 1.0, 3);
        List<List<Hypothesis>> batch = BeamSearch.run(fast, gen, fast.encode(sources), opt);
        for (int i = 0; i < sources.length; i++) {
            List<Hypothesis> alone = BeamSearch.run(fast, gen, fast.encode(new int[][]{sources[i]}), opt).get(0);
            assertEquals(alone.size(), batch.get(i).size());
            for (int h = 0; h < alone.size(); h++) {
                assertArrayEquals(alone.get(h).tokens(), batch.get(i).get(h).tokens(), "sentence " + i + " hyp " + h);
                assertEquals(alone.get(h).score(), batch.get(i).get(h).score(), 0.0);
            }
        }
    }

    @Test
    void beamOfOneIsGreedy() {
        EncoderOutput enc = fast.encode(sources);
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
        List<List<Hypothesis>> out = BeamSearch.run(fast, gen, fast.encode(sources), new DecodeOptions(4, 20, 1.0, 4));
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

    @Test
    void maxLengthCutsAndSaysSo() {
        Hypothesis[] h = GreedySearch.run(fast, gen, fast.encode(sources), DecodeOptions.greedy(3));
        for (Hypothesis x : h) {
            assertTrue(x.tokens().length <= 2);
            if (!x.finished()) {
                assertEquals(2, x.tokens().length);
            }
        }
    }

    @Test
    void padIsNeverGenerated() {
        int pad = fast.config().padId();
        for (Hypothesis x : GreedySearch.run(fast, gen, fast.encode(sources), DecodeOptions.greedy(20))) {
            for (int t : x.tokens()) {
                assertTrue(t != pad);
            }
        }
    }

    @Test
    void scalarAndVectorKernelsAgree() {
        EncoderOutput a = fast.encode(sources);
        EncoderOutput b = scalar.encode(sources);
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
