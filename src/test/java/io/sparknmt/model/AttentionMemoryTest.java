package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.kernel.KernelProvider;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encoder memory grows linearly with the source length: attention keeps two key tiles, one block
 * of scores and two floats per query, never a [heads, src, src] matrix. Measured as the bytes the thread allocates while
 * encoding 1,000 and 2,000 synthetic tokens (a full score matrix alone would be 4x larger at
 * 2,000: 2 heads x 2000^2 x 4 bytes = 32 MB).
 */
class AttentionMemoryTest {
    @TempDir
    Path dir;

    static long allocated(Runnable r) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(id);
        r.run();
        return mx.getThreadAllocatedBytes(id) - before;
    }

    @Test
    void encoderScratchIsLinearInSourceLength() throws IOException {
        TinyModels.Spec s = new TinyModels.Spec(16, 2, 32, 2, 2, 40, 2048, "F32", TensorNames.SHARED, false, true, "swish");
        Path m = TinyModels.write(dir.resolve("long"), s, 5);
        MarianConfig cfg = MarianConfig.read(m.resolve("config.json"));
        MarianModel model = new MarianModel(MarianWeights.load(m, cfg), KernelProvider.get());
        int[][] thousand = {ids(1000)};
        int[][] twoThousand = {ids(2000)};
        // Until C2 compiles the Vector API code, vector ops allocate boxes: warm up both sizes,
        // then take the smallest of several measurements.
        for (int i = 0; i < 4; i++) {
            encodeOnce(model, thousand);
            encodeOnce(model, twoThousand);
        }
        long a = Long.MAX_VALUE;
        long b = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            a = Math.min(a, allocated(() -> encodeOnce(model, thousand)));
            b = Math.min(b, allocated(() -> encodeOnce(model, twoThousand)));
        }
        double ratio = (double) b / a;
        System.out.printf("encoder allocation: 1000 tokens %d KB, 2000 tokens %d KB (x%.2f); a [2, 2000, 2000] score matrix alone: %d KB%n",
                a >> 10, b >> 10, ratio, (2L * 2000 * 2000 * 4) >> 10);
        assertTrue(ratio > 1.5 && ratio < 2.5, "allocation grew x" + ratio + " for 2x the tokens (linear: about x2)");
        assertTrue(b < 2L * 2000 * 2000 * 4, "less than one full score matrix");
    }

    /** One encode in a workspace of its own, closed after: what a task's first batch allocates. */
    private static void encodeOnce(MarianModel model, int[][] ids) {
        try (Workspace ws = new Workspace()) {
            model.encode(ids, ws);
        }
    }

    private static int[] ids(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n - 1; i++) {
            ids[i] = 1 + (i * 7) % 37;
        }
        ids[n - 1] = 0;
        return ids;
    }
}
