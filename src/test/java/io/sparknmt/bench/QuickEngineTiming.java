package io.sparknmt.bench;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Developer tool: times the engine on a corpus in a warm JVM (not a test). */
public final class QuickEngineTiming {
    public static void main(String[] args) throws Exception {
        Translator t = Translator.load(Path.of(args[0]));
        List<String> lines = Files.readAllLines(Path.of(args[1]));
        int beams = Integer.parseInt(args[2]);
        DecodeOptions opt = new DecodeOptions(beams, 256, 1.0, 1);
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            List<Translation> out = t.translate(lines, opt, 32, 4096);
            double s = (System.nanoTime() - t0) / 1e9;
            long toks = out.stream().mapToLong(x -> x.best().generatedLength()).sum();
            System.out.printf("rep %d: %d sentences, %d target tokens, %.2f s, %.1f tokens/s%n", rep, lines.size(), toks, s, toks / s);
        }
    }
}
