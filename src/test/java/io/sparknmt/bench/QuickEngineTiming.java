package io.sparknmt.bench;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.model.ModelBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Developer tool: times the engine on a corpus in a warm JVM (not a test). With a shortlist file
 * as fourth argument, exact mode and the shortlist alternate in the same JVM, rep by rep.
 *
 * <pre>QuickEngineTiming MODEL_DIR CORPUS BEAMS [SHORTLIST]</pre>
 */
public final class QuickEngineTiming {
    public static void main(String[] args) throws Exception {
        ModelBundle bundle = ModelBundle.load(Path.of(args[0]));
        List<String> lines = Files.readAllLines(Path.of(args[1]));
        int beams = Integer.parseInt(args[2]);
        List<String> names = new ArrayList<>(List.of("exact"));
        List<Translator> engines = new ArrayList<>(List.of(Translator.of(bundle, KernelProvider.get())));
        if (args.length > 3) {
            names.add("shortlist");
            engines.add(Translator.of(bundle.withShortlist(Path.of(args[3])), KernelProvider.get()));
        }
        DecodeOptions opt = new DecodeOptions(beams, 256, 1.0, 1);
        for (int rep = 0, reps = Integer.getInteger("reps", 3); rep < reps; rep++) {
            for (int e = 0; e < engines.size(); e++) {
                long t0 = System.nanoTime();
                List<Translation> out = engines.get(e).translate(lines, opt, 32, 4096);
                double s = (System.nanoTime() - t0) / 1e9;
                long toks = out.stream().mapToLong(x -> x.best().generatedLength()).sum();
                System.out.printf("rep %d %-9s: %d sentences, %d target tokens, %.2f s, %.1f tokens/s%n", rep,
                        names.get(e), lines.size(), toks, s, toks / s);
            }
        }
    }
}
