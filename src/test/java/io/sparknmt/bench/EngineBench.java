package io.sparknmt.bench;

import io.sparknmt.decode.BeamSearch;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.GreedySearch;
import io.sparknmt.decode.Hypothesis;
import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.KernelThreads;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.MarianWeights;
import io.sparknmt.model.Workspace;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The spark-nmt side of {@code bench/run} (a developer tool, not a test): times encode + search
 * on fixed source token ids with fixed-length decoding (pad and {@code </s>} suppressed, no
 * forced EOS, {@code maxLength = newTokens + 1}), so every hypothesis has exactly
 * {@code newTokens} target tokens, as in bench/torch_marian.py.
 *
 * <p>Threads: with {@code --threading intra}, "T threads" is one translator whose linear
 * layers are split across T threads ({@link KernelThreads}): what a Spark task with
 * {@code spark.task.cpus = T} does, and what {@code torch.set_num_threads(T)} does on the PyTorch
 * side. By default ({@code --threading slices}) it runs T translators over the same (shared, immutable)
 * model, each on its slice of the batch: what Spark does with T task slots per executor. The time
 * is the wall time until every slice is done.
 *
 * <pre>
 * EngineBench --model DIR --name NAME --ids FILE --plan 1:16:greedy,1:16:beam4,2:16:greedy
 *             [--reps 3] [--warmup 1] [--warmup-max-rows 64] [--new-tokens 30] [--out results.tsv]
 *             [--dump DIR] [--threading intra|slices] [--weights float|int8]
 *             [--shortlist FILE [--shortlist-vocab MODEL_DIR]]
 * </pre>
 * A plan item is THREADS:BATCH:MODE with MODE {@code greedy} or {@code beamK}; items run in the
 * given order. Each item gets {@code --warmup} untimed runs when it has at most
 * {@code --warmup-max-rows} hypothesis rows (batch x beams; bigger items follow smaller ones that
 * already warmed every code path), then {@code --reps} timed runs.
 * Results are tab-separated: engine model batch threads mode new_tokens median_s tokens_per_s runs.
 */
public final class EngineBench {

    private EngineBench() {
    }

    record Config(int threads, int batch, String mode) {
        int beams() {
            return mode.equals("greedy") ? 1 : Integer.parseInt(mode.substring("beam".length()));
        }
    }

    public static void main(String[] args) throws Exception {
        String model = null;
        io.sparknmt.kernel.WeightFormat weightsFormat = io.sparknmt.kernel.WeightFormat.FLOAT;
        String name = null;
        String shortlistFile = null;
        String shortlistVocab = null;
        String idsFile = null;
        String out = null;
        String dump = null;
        int warmupMaxRows = 64;
        boolean slices = true;
        boolean allocCheck = false;
        List<Config> configs = new ArrayList<>();
        int reps = 3;
        int warmup = 1;
        int newTokens = 30;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> model = v;
                case "--name" -> name = v;
                case "--ids" -> idsFile = v;
                case "--out" -> out = v;
                case "--dump" -> dump = v;
                case "--plan" -> {
                    for (String c : v.split(",")) {
                        String[] p = c.split(":");
                        configs.add(new Config(Integer.parseInt(p[0]), Integer.parseInt(p[1]), p[2]));
                    }
                }
                case "--warmup-max-rows" -> warmupMaxRows = Integer.parseInt(v);
                case "--alloc-check" -> {
                    allocCheck = true;
                    i--;
                }
                case "--threading" -> slices = switch (v) {
                    case "intra" -> false;
                    case "slices" -> true;
                    default -> throw new IllegalArgumentException("--threading intra|slices, got " + v);
                };
                case "--weights" -> weightsFormat = io.sparknmt.kernel.WeightFormat.parse(v);
                case "--shortlist" -> shortlistFile = v;
                case "--shortlist-vocab" -> shortlistVocab = v;
                case "--reps" -> reps = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--new-tokens" -> newTokens = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
            i++;
        }
        if (model == null || idsFile == null || configs.isEmpty()) {
            throw new IllegalArgumentException("usage: EngineBench --model DIR --ids FILE --plan T:B:MODE,... "
                    + "[--reps N] [--warmup N] [--new-tokens N] [--out FILE] [--dump DIR]");
        }
        if (name == null) {
            name = Path.of(model).getFileName().toString();
        }

        Path dir = Path.of(model);
        MarianConfig cfg = MarianConfig.read(dir.resolve("config.json"));
        MarianWeights weights = MarianWeights.load(dir, cfg);
        Kernels kernels = KernelProvider.get();
        io.sparknmt.model.Shortlist shortlist = null;
        if (shortlistFile != null) {
            // the shortlist's pieces are read with the vocabulary of --shortlist-vocab (default: the
            // model's own): a real model's shortlist can drive a random model of the same ids
            Path vocabDir = Path.of(shortlistVocab != null ? shortlistVocab : model);
            java.util.Map<String, Integer> vocab = io.sparknmt.model.ModelFiles.readVocab(vocabDir.resolve("vocab.json"));
            shortlist = io.sparknmt.model.Shortlist.read(Path.of(shortlistFile), vocab, cfg.vocabSize(), vocab,
                    cfg.decoderVocabSize(), cfg.padId(), cfg.eosId(), cfg.decoderStartId());
        }
        MarianModel m = new MarianModel(weights, kernels, weightsFormat, shortlist);
        // results and dumps of an opt-in mode are their own engine: spark-nmt-int8, spark-nmt-shortlist,
        // spark-nmt-int8-shortlist
        String engine = "spark-nmt" + (weightsFormat == io.sparknmt.kernel.WeightFormat.FLOAT ? "" : "-" + weightsFormat.flag())
                + (shortlist == null ? "" : "-shortlist");
        // EOS and pad suppressed, no forced EOS: exactly newTokens tokens per hypothesis
        GenerationConfig gen = new GenerationConfig(1, newTokens + 1, 1.0,
                new int[] {cfg.padId(), cfg.eosId()}, -1);
        int maxBatch = configs.stream().mapToInt(Config::batch).max().orElseThrow();
        int[][] ids = readIds(Path.of(idsFile), maxBatch);
        System.err.printf(Locale.ROOT, "spark-nmt bench: %s, kernels %s, Java %s, %d sentences, %d new tokens%n",
                name, kernels.name(), Runtime.version(), ids.length, newTokens);

        int maxThreads = configs.stream().mapToInt(Config::threads).max().orElse(1);
        ExecutorService pool = Executors.newFixedThreadPool(maxThreads, r -> {
            Thread t = new Thread(r, "bench-translator");
            t.setDaemon(true);
            return t;
        });
        Bench bench = new Bench(m, gen, newTokens, pool, slices);

        // global warm-up: JIT (C2) for every hot path, greedy and beam, both row-tile shapes
        int[][] w = Arrays.copyOf(ids, Math.min(8, ids.length));
        long until = System.nanoTime() + 4_000_000_000L;
        for (int i = 0; i < 3 || System.nanoTime() < until && i < 40; i++) {
            bench.runSlice(w, 1);
            bench.runSlice(w, 2);
        }

        List<String> lines = new ArrayList<>();
        for (Config c : configs) {
            int t = c.threads();
            int[][] batch = Arrays.copyOf(ids, c.batch());
            for (int i = 0; i < (c.batch() * c.beams() <= warmupMaxRows ? warmup : 0); i++) {
                bench.run(batch, c.beams(), t);
            }
            double[] times = new double[reps];
            int[][] result = null;
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                result = bench.run(batch, c.beams(), t);
                times[r] = (System.nanoTime() - t0) / 1e9;
            }
            for (int[] row : result) {
                if (row.length != newTokens) {
                    throw new IllegalStateException(c + ": a hypothesis has " + row.length + " tokens, expected "
                            + newTokens);
                }
            }
            double med = median(times);
            double tps = c.batch() * (double) newTokens / med;
            StringBuilder runs = new StringBuilder();
            for (double x : times) {
                runs.append(runs.length() == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", x));
            }
            String line = String.format(Locale.ROOT, "%s\t%s\t%d\t%d\t%s\t%d\t%.4f\t%.1f\t%s",
                    engine, name, c.batch(), t, c.mode(), newTokens, med, tps, runs);
            System.out.println(line);
            System.out.flush();
            lines.add(line);
            if (dump != null) {
                Path d = Path.of(dump);
                Files.createDirectories(d);
                try (PrintWriter pw = new PrintWriter(Files.newBufferedWriter(
                        d.resolve(engine + "-" + name + "-b" + c.batch() + "-t" + t + "-" + c.mode() + ".ids")))) {
                    for (int[] row : result) {
                        StringBuilder sb = new StringBuilder();
                        for (int x : row) {
                            sb.append(sb.length() == 0 ? "" : " ").append(x);
                        }
                        pw.println(sb);
                    }
                }
            }
        }
        pool.shutdown();
        if (allocCheck) {
            for (int beams : new int[] {1, 4}) {
                System.out.println(allocationPerStep(m, cfg, ids, Math.min(8, ids.length), beams));
            }
        }
        if (out != null) {
            Files.write(Path.of(out), lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /** Runs batches through the engine, one slice per thread. */
    static final class Bench {
        private final MarianModel model;
        private final GenerationConfig gen;
        private final int newTokens;
        private final ExecutorService pool;
        private final boolean slices;

        Bench(MarianModel model, GenerationConfig gen, int newTokens, ExecutorService pool, boolean slices) {
            this.slices = slices;
            this.model = model;
            this.gen = gen;
            this.newTokens = newTokens;
            this.pool = pool;
        }

        /** The best hypothesis' tokens of every sentence, in input order. */
        int[][] run(int[][] batch, int beams, int threads) throws Exception {
            int parts = Math.min(threads, batch.length);
            if (parts == 1) {
                return runSlice(batch, beams);
            }
            if (!slices) {
                try (KernelThreads group = KernelThreads.open(threads)) {
                    return runSlice(batch, beams);
                }
            }
            List<Future<int[][]>> futures = new ArrayList<>();
            int start = 0;
            for (int p = 0; p < parts; p++) {
                int end = start + (batch.length - start) / (parts - p);
                int[][] slice = Arrays.copyOfRange(batch, start, end);
                futures.add(pool.submit(() -> runSlice(slice, beams)));
                start = end;
            }
            int[][] result = new int[batch.length][];
            int i = 0;
            for (Future<int[][]> f : futures) {
                for (int[] row : f.get()) {
                    result[i++] = row;
                }
            }
            return result;
        }

        /** Batch sizes whose shortlist width was logged (once each). */
        private final java.util.Set<Integer> widthsLogged = java.util.concurrent.ConcurrentHashMap.newKeySet();

        /** Encode + search for one slice: what one Spark task does with one token batch. */
        int[][] runSlice(int[][] batch, int beams) {
            DecodeOptions opt = new DecodeOptions(beams, newTokens + 1, 1.0, 1);
            int[][] out = new int[batch.length][];
            try (Workspace ws = new Workspace()) {
                EncoderOutput enc = model.encode(batch, ws);
                if (enc.outputIds() != null && widthsLogged.add(batch.length)) {
                    System.err.printf(Locale.ROOT, "spark-nmt bench: shortlist: a batch of %d sentences scores %d of %d "
                            + "target tokens%n", batch.length, enc.outputIds().length, model.config().decoderVocabSize());
                }
                if (beams == 1) {
                    Hypothesis[] hs = GreedySearch.run(model, gen, enc, opt, ws);
                    for (int b = 0; b < hs.length; b++) {
                        out[b] = hs[b].tokens();
                    }
                } else {
                    List<List<Hypothesis>> hs = BeamSearch.run(model, gen, enc, opt, ws);
                    for (int b = 0; b < hs.size(); b++) {
                        out[b] = hs.get(b).get(0).tokens();
                    }
                }
            }
            return out;
        }
    }

    /**
     * Bytes allocated per decoding step in steady state, measured with the thread's allocation
     * counter: the same batch decoded for 49 and for 79 steps (EOS suppressed). Sources are cut to
     * 5 tokens so the KV cache starts at 20 positions and grows 20 -> 40 -> 80 in both runs; the
     * difference is what the 30 extra steps allocate (plus the 30 extra int slots per row of the
     * output buffers, which are sized by the max length). A line:
     * {@code alloc <mode> <batch> <bytes per step> <bytes of one step's logits>}.
     */
    static String allocationPerStep(MarianModel m, MarianConfig cfg, int[][] ids, int batch, int beams) {
        int[][] src = new int[batch][];
        for (int b = 0; b < batch; b++) {
            src[b] = Arrays.copyOf(ids[b], 5);
            src[b][4] = cfg.eosId();
        }
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long[] bytes = new long[2];
        int[] steps = {49, 79};
        for (int which = 0; which < 2; which++) {
            int n = steps[which];
            GenerationConfig g = new GenerationConfig(1, n + 1, 1.0, new int[] {cfg.padId(), cfg.eosId()}, -1);
            DecodeOptions opt = new DecodeOptions(beams, n + 1, 1.0, 1);
            long best = Long.MAX_VALUE;
            for (int rep = 0; rep < 5; rep++) {   // the first runs warm the JIT up (interpreted vectors box)
                long before = mx.getThreadAllocatedBytes(id);
                try (Workspace ws = new Workspace()) {
                    EncoderOutput enc = m.encode(src, ws);
                    if (beams == 1) {
                        GreedySearch.run(m, g, enc, opt, ws);
                    } else {
                        BeamSearch.run(m, g, enc, opt, ws);
                    }
                }
                best = Math.min(best, mx.getThreadAllocatedBytes(id) - before);
            }
            bytes[which] = best;
        }
        double perStep = (bytes[1] - bytes[0]) / (double) (steps[1] - steps[0]);
        long logits = (long) batch * beams * cfg.decoderVocabSize() * 4;
        System.err.printf(Locale.ROOT, "spark-nmt bench: %s batch %d allocates %.0f bytes per decoding step "
                        + "(49 steps: %d bytes in all, 79 steps: %d); one step's logits are %d bytes%n",
                beams == 1 ? "greedy" : "beam" + beams, batch, perStep, bytes[0], bytes[1], logits);
        return String.format(Locale.ROOT, "alloc\t%s\t%d\t%.0f\t%d", beams == 1 ? "greedy" : "beam" + beams, batch,
                perStep, logits);
    }

    static int[][] readIds(Path file, int n) throws IOException {
        List<int[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) {
                continue;
            }
            rows.add(Arrays.stream(line.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray());
            if (rows.size() == n) {
                break;
            }
        }
        if (rows.size() < n) {
            throw new IllegalArgumentException(file + ": " + rows.size() + " sentences, " + n + " needed");
        }
        return rows.toArray(new int[0][]);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
