package io.sparknmt.bench;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.eval.Bleu;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.WeightFormat;
import io.sparknmt.model.ModelBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The quality cost and speed of each weight mode on a real model: translates a source file
 * (test_2016_flickr for the sample model) greedy and with beam 4 in every mode, and prints one
 * tab-separated line per (mode, search):
 * {@code quality mode search sentences bleu tokens_per_s resident_bytes fp32_bytes identical_to_float seconds},
 * where mode is a weight format ({@code float}, {@code int8}) and, with {@code --shortlist}, each of
 * them again through the shortlist ({@code float+shortlist}, {@code int8+shortlist}).
 *
 * <pre>
 * QualityBench --model DIR --src FILE --ref FILE [--sentences N] [--batch 32] [--weights float,int8]
 *              [--shortlist FILE]
 * </pre>
 */
public final class QualityBench {
    private QualityBench() {
    }

    public static void main(String[] args) throws Exception {
        Path model = null;
        Path src = null;
        Path ref = null;
        Path shortlist = null;
        int limit = Integer.MAX_VALUE;
        int batch = 32;
        List<WeightFormat> formats = List.of(WeightFormat.FLOAT, WeightFormat.INT8);
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--model" -> model = Path.of(v);
                case "--src" -> src = Path.of(v);
                case "--ref" -> ref = Path.of(v);
                case "--sentences" -> limit = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--shortlist" -> shortlist = Path.of(v);
                case "--weights" -> {
                    List<WeightFormat> f = new ArrayList<>();
                    for (String s : v.split(",")) {
                        f.add(WeightFormat.parse(s));
                    }
                    formats = f;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (model == null || src == null || ref == null) {
            throw new IllegalArgumentException("usage: QualityBench --model DIR --src FILE --ref FILE [--sentences N]");
        }
        List<String> sources = Files.readAllLines(src);
        List<String> refs = Files.readAllLines(ref);
        int n = Math.min(limit, Math.min(sources.size(), refs.size()));
        sources = sources.subList(0, n);
        refs = refs.subList(0, n);
        ModelBundle bundle = ModelBundle.load(model);
        long fp32 = 4L * bundle.weights().parameterCount();
        List<List<String>> exact = new ArrayList<>();
        List<ModelBundle> bundles = new ArrayList<>(List.of(bundle));
        if (shortlist != null) {
            bundles.add(bundle.withShortlist(shortlist));
        }
        for (ModelBundle b : bundles) {
            for (WeightFormat f : formats) {
                String mode = f.flag() + (b.shortlist() == null ? "" : "+shortlist");
                try (Translator t = Translator.of(b, KernelProvider.get(), f)) {
                    int s = 0;
                    for (int beams : new int[]{1, 4}) {
                        DecodeOptions d = t.defaultOptions(); // the model's max_length and length penalty
                        DecodeOptions opt = new DecodeOptions(beams, d.maxLength(), d.lengthPenalty(), 1);
                        t.translate(sources.subList(0, Math.min(n, batch)), opt, batch, 1 << 20); // warm-up
                        long t0 = System.nanoTime();
                        List<Translation> out = t.translate(sources, opt, batch, 1 << 20);
                        double secs = (System.nanoTime() - t0) / 1e9;
                        long tokens = 0;
                        List<String> hyp = new ArrayList<>();
                        for (Translation tr : out) {
                            tokens += tr.best().tokens().length;
                            hyp.add(tr.text());
                        }
                        if (f == formats.get(0) && b == bundle) {
                            exact.add(hyp);
                        }
                        List<String> base = exact.get(s++);
                        int same = 0;
                        for (int i = 0; i < n; i++) {
                            same += hyp.get(i).equals(base.get(i)) ? 1 : 0;
                        }
                        System.out.printf(Locale.ROOT, "quality\t%s\t%s\t%d\t%.2f\t%.1f\t%d\t%d\t%d\t%.3f%n", mode,
                                beams == 1 ? "greedy" : "beam4", n, Bleu.corpus(hyp, refs).score(), tokens / secs,
                                t.residentBytes(), fp32, same, secs);
                        System.out.flush();
                    }
                }
            }
        }
    }
}
