package io.sparknmt.bench;

import io.sparknmt.kernel.KernelProvider;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.kernel.PackedWeight;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-benchmark of {@code bench/run} (a developer tool, not a test), one thread:
 * the machine's FMA peak measured with a Vector API loop of independent FMA chains (best round,
 * before and after the GEMMs), and
 * {@code kernels.linear} ({@code y[m,n] = x[m,k] W^T}, W packed once) at 512x512x512 and at
 * m=64, k=512, n=2048 (a decoder FFN up-projection over 64 rows). Prints tab-separated lines:
 * {@code fma-peak <GFLOP/s> <lanes> <accumulators>} and
 * {@code gemm <m>x<k>x<n> <median GFLOP/s> <best GFLOP/s> <% of peak>}, the last the median over
 * the samples of each sample's GFLOP/s over the FMA peak measured just before it.
 */
public final class GemmBench {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private GemmBench() {
    }

    public static void main(String[] args) {
        // "--weights int8": the int8 kernels on the same shapes (lines "gemm-int8"); "--kernels scalar":
        // the plain-loop kernels (for int8, the blocked short x byte -> int loop left to C2's
        // auto-vectorizer, vpmaddwd / vpdpwssd where it finds them) instead of the Vector API ones
        io.sparknmt.kernel.WeightFormat format = io.sparknmt.kernel.WeightFormat.FLOAT;
        Kernels kernels = KernelProvider.get();
        String shapesArg = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--shapes" -> shapesArg = args[i + 1];
                case "--weights" -> format = io.sparknmt.kernel.WeightFormat.parse(args[i + 1]);
                case "--kernels" -> kernels = args[i + 1].equals("scalar") ? KernelProvider.scalar() : KernelProvider.get();
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        String tag = format == io.sparknmt.kernel.WeightFormat.FLOAT ? "gemm" : "gemm-" + format.flag();
        // C2 first (interpreted Vector API code is ~50x slower), then the best of several ~0.2 s rounds
        for (int i = 0; i < 200; i++) {
            fmaPeak12(100_000);
        }
        double peak = 0;
        for (int round = 0; round < 6; round++) {
            peak = Math.max(peak, fmaPeak12(100_000_000));
        }
        // default: the two shapes bench/run reports; "--shapes MxKxN,..." for others (e.g. a decoder step's)
        int[][] shapes = {{512, 512, 512}, {64, 512, 2048}};
        if (shapesArg != null) {
            shapes = Arrays.stream(shapesArg.split(","))
                    .map(t -> Arrays.stream(t.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
        }
        double[][] results = new double[shapes.length][];
        int idx = 0;
        for (int[] shape : shapes) {
            int m = shape[0];
            int k = shape[1];
            int n = shape[2];
            Random rnd = new Random(42);
            float[] w = new float[n * k];
            float[] x = new float[m * k];
            float[] y = new float[m * n];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            PackedWeight pw = kernels.pack(w, n, k, format);
            double flop = 2.0 * m * n * k;
            int inner = Math.max(1, (int) (2e9 / flop));   // ~2 GFLOP per sample
            long warmUntil = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < warmUntil) {
                kernels.linear(x, 0, m, pw, null, y, 0);
            }
            // Each sample is paired with an FMA-peak measurement taken right before it: the clock of
            // a shared VM moves between phases, and a peak measured minutes apart would skew the ratio.
            double[] g = new double[9];
            double[] pct = new double[9];
            for (int s = 0; s < g.length; s++) {
                double localPeak = fmaPeak12(20_000_000);
                long t0 = System.nanoTime();
                for (int i = 0; i < inner; i++) {
                    kernels.linear(x, 0, m, pw, null, y, 0);
                }
                g[s] = flop * inner / ((System.nanoTime() - t0) / 1e9) / 1e9;
                pct[s] = 100 * g[s] / localPeak;
                peak = Math.max(peak, localPeak);
            }
            Arrays.sort(pct);
            Arrays.sort(g);
            results[idx++] = new double[] {m, k, n, g[g.length / 2], g[g.length - 1], pct[pct.length / 2]};
        }
        // the peak again after the GEMMs: the clock of a shared VM moves; the best of all rounds counts
        for (int round = 0; round < 3; round++) {
            peak = Math.max(peak, fmaPeak12(100_000_000));
        }
        System.out.printf(Locale.ROOT, "fma-peak\t%.1f\t%d\t12\t%s%n", peak, S.length(), kernels.name());
        for (double[] r : results) {
            System.out.printf(Locale.ROOT, "%s\t%dx%dx%d\t%.1f\t%.1f\t%.1f%n", tag, (int) r[0], (int) r[1], (int) r[2],
                    r[3], r[4], r[5]);
        }
    }

    /** GFLOP/s of 12 independent FMA chains (enough to cover 2 pipes x 4-5 cycles latency). */
    static double fmaPeak12(int iters) {
        FloatVector a = FloatVector.broadcast(S, 0.999999f);
        FloatVector b = FloatVector.broadcast(S, 1e-6f);
        FloatVector c0 = FloatVector.broadcast(S, 0.1f), c1 = FloatVector.broadcast(S, 0.2f);
        FloatVector c2 = FloatVector.broadcast(S, 0.3f), c3 = FloatVector.broadcast(S, 0.4f);
        FloatVector c4 = FloatVector.broadcast(S, 0.5f), c5 = FloatVector.broadcast(S, 0.6f);
        FloatVector c6 = FloatVector.broadcast(S, 0.7f), c7 = FloatVector.broadcast(S, 0.8f);
        FloatVector c8 = FloatVector.broadcast(S, 0.9f), c9 = FloatVector.broadcast(S, 1.0f);
        FloatVector c10 = FloatVector.broadcast(S, 1.1f), c11 = FloatVector.broadcast(S, 1.2f);
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            c0 = c0.fma(a, b); c1 = c1.fma(a, b); c2 = c2.fma(a, b); c3 = c3.fma(a, b);
            c4 = c4.fma(a, b); c5 = c5.fma(a, b); c6 = c6.fma(a, b); c7 = c7.fma(a, b);
            c8 = c8.fma(a, b); c9 = c9.fma(a, b); c10 = c10.fma(a, b); c11 = c11.fma(a, b);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        float sink = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        if (sink == 42.4242f) {
            System.out.println();
        }
        return 2.0 * S.length() * 12 * (double) iters / s / 1e9;
    }
}
