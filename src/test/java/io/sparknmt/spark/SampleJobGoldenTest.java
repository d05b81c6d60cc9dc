package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparknmt.TestPaths;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick-start job (sample model, sample corpus, the model's beam 4, jsonl) in local
 * mode gives the committed rows on every Spark line (run under each Maven profile by .ci/run).
 * StandaloneClusterIT does the same for the standalone cluster.
 */
class SampleJobGoldenTest {
    @TempDir
    Path tmp;

    @Test
    void quickStartRowsAreTheSameOnEveryLine() throws Exception {
        Path out = tmp.resolve("out");
        assertEquals(0, TranslateJob.run("--master", "local[2]", "--model", TestPaths.sampleModel().toString(),
                "--input", TestPaths.repo().resolve("sample-data/corpus/en.txt").toString(),
                "--output", out.toString(), "--output-format", "jsonl", "--overwrite"));
        SampleJobGolden.check(TranslateJobTest.readJsonl(out), "sample-job-quickstart.jsonl");
    }
}
