package io.sparknmt.decode;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.WeightFormat;
import io.sparknmt.model.ModelBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --weights int8} on the sample model: at most 0.35x the FP32 size resident, and greedy
 * translations mostly those of exact mode (the agreement is printed: the mode's quality cost,
 * which BLEU on test_2016_flickr measures in bench/run).
 */
class Int8WeightsTest {
    static ModelBundle bundle;
    static List<String> sentences;

    @BeforeAll
    static void load() throws IOException {
        bundle = ModelBundle.load(TestPaths.sampleModel());
        sentences = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 40);
    }

    @Test
    void residentWeightsAreAtMostAThirdOfFp32() {
        try (Translator t = Translator.of(bundle, KernelProvider.get(), WeightFormat.INT8)) {
            long fp32 = 4L * bundle.weights().parameterCount();
            double ratio = (double) t.residentBytes() / fp32;
            System.out.printf("int8 resident %d bytes, FP32 %d (%.3fx)%n", t.residentBytes(), fp32, ratio);
            assertTrue(ratio <= 0.35, "int8 resident " + ratio + "x FP32");
        }
    }

    @Test
    void greedyTranslationsMostlyEqualExactMode() {
        DecodeOptions greedy = DecodeOptions.greedy(64);
        try (Translator exact = Translator.of(bundle, KernelProvider.get());
             Translator int8 = Translator.of(bundle, KernelProvider.get(), WeightFormat.INT8)) {
            List<Translation> a = exact.translate(sentences, greedy, 16, 4096);
            List<Translation> b = int8.translate(sentences, greedy, 16, 4096);
            int same = 0;
            for (int i = 0; i < a.size(); i++) {
                if (a.get(i).text().equals(b.get(i).text())) {
                    same++;
                }
                assertTrue(!b.get(i).text().isBlank() || a.get(i).text().isBlank(), "sentence " + i + " is empty under int8");
            }
            System.out.printf("int8 greedy: %d of %d translations identical to exact mode%n", same, a.size());
            assertTrue(same >= a.size() * 0.6, same + " of " + a.size() + " identical");
        }
    }
}
