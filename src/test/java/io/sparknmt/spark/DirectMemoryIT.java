package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The KV caches are direct memory, bounded by {@code -XX:MaxDirectMemorySize} (in Spark: the
 * executor's memory overhead) rather than by the heap. When a batch's caches do not fit, the task
 * frees them, retries the batch in halves, and every row still comes out, with the same
 * translations and scores as an unconstrained run.
 */
class DirectMemoryIT {
    @TempDir
    Path dir;

    @Test
    void batchesThatDoNotFitInDirectMemoryAreSplitAndLoseNothing() throws Exception {
        // 64 sentences x 4 beams need about 40 MB of caches on the sample model; Spark and Arrow
        // use about 16 MB of direct memory themselves
        List<String> args = List.of("--master", "local[1]", "--num-partitions", "1", "--beam-size", "4",
                "--max-batch-sentences", "64", "--model", TestPaths.sampleModel().toString(), "--input",
                TestPaths.repo().resolve("sample-data/corpus/en.txt").toString());
        Path java = Path.of(System.getProperty("java.home"));
        LocalJob.Result free = LocalJob.run(java, List.of(), args, dir, "unbounded");
        LocalJob.Result tight = LocalJob.run(java, List.of("-XX:MaxDirectMemorySize=32m"), args, dir, "bounded");
        assertTrue(tight.log().contains("ran out of direct memory") && tight.log().contains("retrying it in halves"),
                "the bound was not hit: " + tight.log());
        assertTrue(!free.log().contains("ran out of direct memory"), free.log());
        assertEquals(100, free.rows().size());
        assertEquals(free.rows(), tight.rows(), "same rows, texts and scores with the smaller batches");
        assertTrue(tight.rows().stream().allMatch(r -> r.contains("\"status\":\"ok\"")), "every row translated");
        long splits = tight.log().lines().filter(l -> l.contains("retrying it in halves")).count();
        System.out.printf("direct memory 32 MB: %d batch splits, %d/100 rows identical to the unbounded run%n", splits,
                tight.rows().size());
    }
}
