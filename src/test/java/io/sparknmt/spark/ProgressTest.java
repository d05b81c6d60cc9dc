package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.model.TensorNames;
import io.sparknmt.model.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress a person can watch: a 20,000-row local run (two partitions, so no partition finishes
 * early) logs rows done / total with tokens/s and an ETA several times while its tasks still run,
 * from the values running tasks' accumulators send with executor heartbeats. A tiny random model
 * with the sample model's tokenizer keeps the run short; heartbeats and lines are sped up to
 * 0.5 s (the defaults are 10 s each).
 */
class ProgressTest {
    @TempDir
    Path tmp;

    @Test
    void aTwentyThousandRowRunShowsItsProgressWhileItRuns() throws Exception {
        Path model = TinyModels.write(tmp.resolve("tiny"),
                new TinyModels.Spec(16, 2, 32, 1, 1, 11565, 512, "F32", TensorNames.SHARED, true, true, "swish"), 7);
        for (String f : List.of("source.spm", "target.spm", "vocab.json", "tokenizer_config.json")) {
            Files.copy(TestPaths.sampleModel().resolve(f), model.resolve(f));
        }
        List<String> en = Files.readAllLines(TestPaths.multi30k().resolve("test_2016_flickr.en"));
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            rows.add(en.get(i % en.size()) + " (" + i + ")"); // all distinct
        }
        Path input = tmp.resolve("in.txt");
        Files.write(input, rows);
        LocalJob.Result r = LocalJob.run(Path.of(System.getProperty("java.home")),
                List.of("-Dspark.executor.heartbeatInterval=500ms"),
                List.of("--master", "local[2]", "--model", model.toString(), "--input", input.toString(),
                        "--num-partitions", "2", "--beam-size", "1", "--progress-interval", "0.5"),
                tmp, "progress");
        assertEquals(20_000, r.rows().size());
        Pattern line = Pattern.compile("progress: ([\\d,]+)/20,000 rows \\((\\d+)%\\), (\\d+) tokens/s, \\d+ s elapsed, ETA (\\d+) s");
        List<Long> seen = new ArrayList<>();
        for (String l : r.log().split("\n")) {
            Matcher m = line.matcher(l);
            if (m.find()) {
                long done = Long.parseLong(m.group(1).replace(",", ""));
                assertTrue(Long.parseLong(m.group(3)) > 0, "tokens/s in " + l);
                if (done < 20_000) {
                    seen.add(done);
                }
            }
        }
        System.out.println("progress: rows done in the lines before the end: " + seen);
        assertTrue(seen.size() >= 3, "progress lines before the end: " + seen + "\n" + r.log());
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i) >= seen.get(i - 1), "rows done never go back: " + seen);
        }
        assertTrue(seen.get(0) > 0, "counted from running tasks: " + seen);
        assertTrue(r.log().contains("progress: 20,000 rows translated in"), r.log());
    }
}
