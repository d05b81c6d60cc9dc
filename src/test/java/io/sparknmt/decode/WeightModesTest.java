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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The opt-in weight modes on the sample model: {@code --weights int8} at most 0.35x the FP32 size
 * resident, {@code --weights bf16} at most 0.55x, and greedy translations mostly those of exact mode
 * (the agreement is printed: each mode's quality cost, which BLEU on test_2016_flickr measures in
 * bench/run).
 */
class WeightModesTest {
    static ModelBundle bundle;
    static List<String> sentences;

    @BeforeAll
    static void load() throws IOException {
        bundle = ModelBundle.load(TestPaths.sampleModel());
        sentences = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 40);
    }

    @ParameterizedTest
    @CsvSource({"int8, 0.35", "bf16, 0.55"})
    void residentWeightsShrink(String mode, double most) {
        try (Translator t = Translator.of(bundle, KernelProvider.get(), WeightFormat.parse(mode))) {
            long fp32 = 4L * bundle.weights().parameterCount();
            double ratio = (double) t.residentBytes() / fp32;
            System.out.printf("%s resident %d bytes, FP32 %d (%.3fx)%n", mode, t.residentBytes(), fp32, ratio);
            assertTrue(ratio <= most, mode + " resident " + ratio + "x FP32");
        }
    }

    /** int8: 60% of the sentences identical at least; bf16 (8 bits of mantissa, float math): 90%. */
    @ParameterizedTest
    @CsvSource({"int8, 0.6", "bf16, 0.9"})
    void greedyTranslationsMostlyEqualExactMode(String mode, double least) {
        DecodeOptions greedy = DecodeOptions.greedy(64);
        try (Translator exact = Translator.of(bundle, KernelProvider.get());
             Translator opt = Translator.of(bundle, KernelProvider.get(), WeightFormat.parse(mode))) {
            List<Translation> a = exact.translate(sentences, greedy, 16, 4096);
            List<Translation> b = opt.translate(sentences, greedy, 16, 4096);
            int same = 0;
            for (int i = 0; i < a.size(); i++) {
                if (a.get(i).text().equals(b.get(i).text())) {
                    same++;
                }
                assertTrue(!b.get(i).text().isBlank() || a.get(i).text().isBlank(),
                        "sentence " + i + " is empty under " + mode);
            }
            System.out.printf("%s greedy: %d of %d translations identical to exact mode%n", mode, same, a.size());
            assertTrue(same >= a.size() * least, mode + ": " + same + " of " + a.size() + " identical");
        }
    }

    @Test
    void aWeightModeOutsideTheListIsRefusedByName() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> WeightFormat.parse("fp16"));
        assertTrue(e.getMessage().contains("fp16") && e.getMessage().contains("bf16"), e.getMessage());
    }
}
