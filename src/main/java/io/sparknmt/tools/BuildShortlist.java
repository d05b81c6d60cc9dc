package io.sparknmt.tools;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.io.UsageException;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.Shortlist;
import io.sparknmt.model.ShortlistBuilder;
import io.sparknmt.spark.TranslateJob;
import io.sparknmt.tokenizer.MarianTokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jobs/build-shortlist}: writes a vocabulary shortlist for {@code --shortlist} of
 * {@code jobs/translate} ({@link Shortlist}, {@link ShortlistBuilder}) from a parallel corpus
 * ({@code --source} and {@code --target}, line by line), or, with {@code --source} alone, from the
 * model's own translations of the first {@code --sample} lines of the corpus to translate: no
 * aligner and no reference translations needed. Runs in this JVM (no Spark). Exit codes as the
 * job's: 2 usage, 3 a model problem, 4 an unreadable input.
 */
@Command(name = "build-shortlist", mixinStandardHelpOptions = true,
        description = "Builds a vocabulary shortlist (for jobs/translate --shortlist) from a parallel corpus, or from the "
                + "model's own translations of a sample of the corpus.")
public final class BuildShortlist implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (Hugging Face Marian layout).")
    Path model;

    @Option(names = "--source", required = true, paramLabel = "FILE", description = "Source sentences, one per line (UTF-8).")
    Path source;

    @Option(names = "--target", paramLabel = "FILE",
            description = "Their translations, line by line. Without it the model translates the source sample itself.")
    Path target;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The shortlist file to write (JSON).")
    Path output;

    @Option(names = "--sample", defaultValue = "20000", paramLabel = "N",
            description = "Sentence pairs to count: the first N lines (default: ${DEFAULT-VALUE}).")
    int sample;

    @Option(names = "--per-source", defaultValue = "100", paramLabel = "K",
            description = "Candidates kept per source token, best Dice coefficient first (default: ${DEFAULT-VALUE}).")
    int perSource;

    @Option(names = "--frequent", defaultValue = "200", paramLabel = "F",
            description = "Most frequent target tokens, always allowed (default: ${DEFAULT-VALUE}).")
    int frequent;

    @Option(names = "--min-count", defaultValue = "1", paramLabel = "C",
            description = "Least co-occurrences of a source and a target token for a candidate (default: ${DEFAULT-VALUE}).")
    int minCount;

    @Option(names = "--beam-size", paramLabel = "B",
            description = "Beams of the model's translations (default: the model's num_beams), as the job will decode.")
    Integer beamSize;

    @Option(names = "--threads", paramLabel = "T",
            description = "Translator threads for the model's translations (default: the available processors).")
    Integer threads;

    /** Batches of the model's translations (the job's default batch limits). */
    private static final int BATCH_SENTENCES = 32;
    private static final int BATCH_TOKENS = 4096;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Parses, runs and returns the exit code (never calls System.exit). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new BuildShortlist());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            System.err.println("build-shortlist: " + ex.getMessage());
            return ex instanceof ModelFormatException ? TranslateJob.EXIT_MODEL
                    : ex instanceof UsageException ? TranslateJob.EXIT_USAGE
                    : ex instanceof IOException || ex instanceof java.io.UncheckedIOException ? TranslateJob.EXIT_INPUT
                    : TranslateJob.EXIT_FAILURE;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (sample < 1 || perSource < 0 || frequent < 0 || minCount < 1 || (beamSize != null && beamSize < 1)
                || (threads != null && threads < 1)) {
            throw new UsageException("--sample, --min-count, --beam-size and --threads must be at least 1, "
                    + "--per-source and --frequent at least 0");
        }
        List<String> src = readLines(source, sample, null);
        List<String> tgt = target == null ? null : readLines(target, sample, src.size());
        ModelBundle bundle = ModelBundle.load(model);
        try (Translator tr = Translator.of(bundle, KernelProvider.get())) {
            MarianTokenizer tok = tr.tokenizer();
            int[] specials = {bundle.config().padId(), bundle.config().eosId(), bundle.config().decoderStartId(),
                    tok.unkId(), tok.eosId()};
            ShortlistBuilder b = new ShortlistBuilder(bundle.config().vocabSize(), bundle.config().decoderVocabSize(),
                    specials, specials);
            long t0 = System.nanoTime();
            int tooLong = 0;
            List<int[]> ids = new ArrayList<>(src.size());
            List<Integer> kept = new ArrayList<>(src.size());
            for (int i = 0; i < src.size(); i++) {
                int[] s = tok.encode(src.get(i));
                if (s.length > tr.maxSourceTokens()) {
                    tooLong++; // the job would cut it; its pair is left out of the counts
                    continue;
                }
                ids.add(s);
                kept.add(i);
            }
            String from;
            if (tgt != null) {
                for (int j = 0; j < ids.size(); j++) {
                    b.add(ids.get(j), tok.encodeTarget(tgt.get(kept.get(j))));
                }
                from = ids.size() + " sentence pairs of " + source.getFileName() + " / " + target.getFileName();
            } else {
                DecodeOptions opt = tr.defaultOptions();
                if (beamSize != null) {
                    opt = new DecodeOptions(beamSize, opt.maxLength(), opt.lengthPenalty(), 1, opt.minNewTokens(),
                            opt.earlyStopping(), opt.noRepeatNgramSize(), opt.repetitionPenalty());
                }
                List<int[]> out = translate(tr, ids, opt);
                for (int j = 0; j < ids.size(); j++) {
                    b.add(ids.get(j), out.get(j));
                }
                from = "the model's own translations (beam " + opt.beamSize() + ") of " + ids.size() + " sentences of "
                        + source.getFileName();
            }
            int[] freq = b.frequent(frequent);
            int[][] cand = b.candidates(perSource, minCount);
            from += "; per source " + perSource + ", frequent " + frequent + ", min count " + minCount;
            Path tmp = output.resolveSibling(output.getFileName() + ".tmp");
            try (OutputStream os = Files.newOutputStream(tmp)) {
                ShortlistBuilder.write(os, from, freq, cand, tok::sourcePiece, tok::targetPiece);
            }
            Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING);
            int sources = 0;
            for (int[] c : cand) {
                sources += c == null ? 0 : 1;
            }
            System.out.printf(java.util.Locale.ROOT,
                    "build-shortlist: %s: %d sentence pairs counted (%d too long for the model left out), %d source tokens "
                            + "with candidates, %d frequent target tokens, %.1f s%n",
                    output, b.sentencePairs(), tooLong, sources, freq.length, (System.nanoTime() - t0) / 1e9);
        }
        return TranslateJob.EXIT_OK;
    }

    /** The model's translations of {@code ids} (target ids of the best hypothesis), on {@code --threads} threads. */
    private List<int[]> translate(Translator tr, List<int[]> ids, DecodeOptions opt) throws InterruptedException {
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        int n = ids.size();
        int chunk = Math.max(1, (n + t - 1) / t);
        ExecutorService pool = Executors.newFixedThreadPool(t);
        try {
            List<Future<List<Translation>>> parts = new ArrayList<>();
            for (int from = 0; from < n; from += chunk) {
                List<int[]> part = ids.subList(from, Math.min(n, from + chunk));
                parts.add(pool.submit(() -> tr.translateIds(part.toArray(new int[0][]), opt, BATCH_SENTENCES,
                        BATCH_TOKENS)));
            }
            List<int[]> out = new ArrayList<>(n);
            for (Future<List<Translation>> f : parts) {
                for (Translation x : f.get()) {
                    out.add(x.best().tokens());
                }
            }
            return out;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The first {@code max} lines of {@code file}; with {@code pairedWith} set, exactly that many
     * lines (the target side of a parallel corpus, line by line), an error when the file has fewer.
     */
    private static List<String> readLines(Path file, int max, Integer pairedWith) throws IOException {
        int want = pairedWith != null ? pairedWith : max;
        List<String> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while (out.size() < want && (line = r.readLine()) != null) {
                out.add(line);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IOException(file + ": not UTF-8 text (line " + (out.size() + 1) + ")", e);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        }
        if (pairedWith != null && out.size() < want) {
            throw new IOException(file + ": " + out.size() + " lines, the source sample has " + want);
        }
        return out;
    }
}
