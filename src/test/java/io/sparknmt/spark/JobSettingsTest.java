package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.io.UsageException;
import io.sparknmt.TestPaths;
import io.sparknmt.model.ModelBundle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where each setting comes from (command line > conf file > model), and what is refused before anything is read. */
class JobSettingsTest {
    static ModelBundle bundle;
    static final String MODEL = TestPaths.sampleModel().toString();

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        bundle = ModelBundle.load(TestPaths.sampleModel());
    }

    private Path conf(String text) throws IOException {
        Path c = tmp.resolve("job.conf");
        Files.writeString(c, text);
        return c;
    }

    private static String[] base(String... more) {
        String[] b = {"--model", MODEL, "--input", "in.txt", "--output", "out"};
        String[] all = new String[b.length + more.length];
        System.arraycopy(b, 0, all, 0, b.length);
        System.arraycopy(more, 0, all, b.length, more.length);
        return all;
    }

    @Test
    void theCommandLineBeatsTheConfFileWhichBeatsTheModel() throws IOException {
        int modelBeams = bundle.generation().numBeams();
        int modelMaxOut = bundle.generation().maxLength() - 1;
        assertTrue(modelBeams != 2 && modelBeams != 3 && modelMaxOut != 17 && modelMaxOut != 19,
                "the test needs values that differ from the model's");
        Path c = conf("spark.nmt.beam-size 2\nspark.nmt.max-output-tokens 17\nspark.nmt.max-batch-sentences 5\n");

        JobSettings model = JobSettings.parse(base());
        assertEquals(modelBeams, model.beamSize(bundle));
        assertEquals(modelMaxOut, model.maxOutputTokens(bundle));
        assertEquals(modelMaxOut + 1, model.decodeOptions(bundle).maxLength(), "max length counts the start token");
        assertEquals(bundle.generation().lengthPenalty(), model.decodeOptions(bundle).lengthPenalty());
        assertEquals(bundle.maxSourceTokens(), model.maxInputTokens(bundle));
        assertEquals(64, model.maxBatchSentences());
        assertEquals(JobSettings.MIN_WINDOW_ROWS, Math.min(model.windowRows(), JobSettings.MIN_WINDOW_ROWS));

        JobSettings fromConf = JobSettings.parse(base("--conf-file", c.toString()));
        assertEquals(2, fromConf.beamSize(bundle));
        assertEquals(17, fromConf.maxOutputTokens(bundle));
        assertEquals(5, fromConf.maxBatchSentences());
        assertEquals(JobSettings.MIN_WINDOW_ROWS, fromConf.windowRows(), "8 x 5 sentences is below the floor");

        JobSettings cli = JobSettings.parse(base("--conf-file", c.toString(), "--beam-size", "3",
                "--max-output-tokens", "19"));
        assertEquals(3, cli.beamSize(bundle));
        assertEquals(19, cli.maxOutputTokens(bundle));
        PartitionSettings p = cli.partitionSettings(bundle);
        assertEquals(3, p.beamSize());
        assertEquals(20, p.maxLength());
        assertEquals(5, p.maxBatchSentences());
        assertEquals(512L << 20, p.taskMemoryBytes());
        assertFalse(p.emitTokens());

        assertEquals(7, JobSettings.parse(base("--num-partitions", "7")).numPartitions(3, 2));
        assertEquals(3, model.numPartitions(3, 2), "default: at least the input's partitions ...");
        assertEquals(4, model.numPartitions(3, 4), "... and at least the default parallelism");
    }

    @Test
    void theOptionsHashChangesWithWhatDecidesTheTranslationsOnly() throws IOException {
        String h = JobSettings.parse(base()).optionsHash(bundle);
        assertEquals(h, JobSettings.parse(base("--num-partitions", "3", "--kernel-threads", "1")).optionsHash(bundle));
        assertNotEquals(h, JobSettings.parse(base("--beam-size", "2")).optionsHash(bundle));
        assertNotEquals(h, JobSettings.parse(base("--max-input-tokens", "100")).optionsHash(bundle));
        // The byte cap decides which rows are errors; its default keeps the hashes of earlier runs.
        assertNotEquals(h, JobSettings.parse(base("--max-input-bytes", "1000")).optionsHash(bundle));
        assertEquals(h, JobSettings.parse(base("--max-input-bytes", "1048576")).optionsHash(bundle));
        // exact mode keeps the hash of the manifests written before --weights; int8 is new work
        assertEquals(h, JobSettings.parse(base("--weights", "float")).optionsHash(bundle));
        assertNotEquals(h, JobSettings.parse(base("--weights", "int8")).optionsHash(bundle));
        assertEquals(io.sparknmt.kernel.WeightFormat.INT8,
                JobSettings.parse(base("--weights", "INT8")).partitionSettings(bundle).weights());
        assertEquals(io.sparknmt.kernel.WeightFormat.FLOAT, JobSettings.parse(base()).partitionSettings(bundle).weights());
        assertEquals(32, h.length());
    }

    @Test
    void badSettingsAreRefusedBeforeTheModelOrTheInputIsRead() throws IOException {
        // Neither the model nor the input exists: a refusal with exit code 2 (not 3, model error,
        // nor 4, input error) shows that nothing was read before the check.
        Path missing = tmp.resolve("no-such-dir");
        String[][] bad = {
            {"--num-partitions", "0"}, {"--beam-size", "0"}, {"--kernel-threads", "-1"},
            {"--max-batch-sentences", "0"}, {"--commit-every-files", "0"}, {"--task-memory-mb", "0"},
            {"--n-best", "2", "--output-format", "tsv"}, {"--incremental", "--output-format", "text"},
            {"--emit-sentences", "--output-format", "jsonl"},
            {"--emit-sentences", "--split-sentences", "--output-format", "tsv"},
            {"--split-sentences", "--input-format", "arrow"}, {"--split-sentences", "--output-format", "arrow"},
            {"--split-sentences", "--n-best", "2"}, {"--source-lang", "en"},
            {"--keep-columns", "a", "--input-format", "jsonl", "--output-format", "text"},
            {"--keep-columns", "a", "--input-format", "text"},
            {"--weights", "int4"},
        };
        for (String[] b : bad) {
            String[] args = new String[6 + b.length];
            System.arraycopy(new String[]{"--model", missing.toString(), "--input", missing.toString(), "--output",
                    tmp.resolve("out").toString()}, 0, args, 0, 6);
            System.arraycopy(b, 0, args, 6, b.length);
            PrintStream err = System.err;
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int rc;
            try {
                rc = TranslateJob.run(args);
            } finally {
                System.setErr(err);
            }
            String text = buf.toString(StandardCharsets.UTF_8);
            assertEquals(TranslateJob.EXIT_USAGE, rc, String.join(" ", b) + ": " + text);
            assertTrue(text.contains(b[0]), String.join(" ", b) + " is named in the message: " + text);
            assertFalse(Files.exists(tmp.resolve("out")), "nothing was written");
        }
        UsageException e = assertThrows(UsageException.class,
                () -> JobSettings.parse(base("--num-partitions", "-2")));
        assertEquals("--num-partitions must be >= 1, got -2", e.getMessage());
    }

    @Test
    void settingsThatNeedTheModelAreCheckedAgainstIt() throws IOException {
        int positions = bundle.config().maxPositions();
        assertThrows(UsageException.class,
                () -> JobSettings.parse(base("--max-output-tokens", String.valueOf(positions))).partitionSettings(bundle));
        assertThrows(UsageException.class,
                () -> JobSettings.parse(base("--beam-size", "2", "--n-best", "3")).partitionSettings(bundle));
        assertThrows(UsageException.class,
                () -> JobSettings.parse(base("--target-lang", "xx_no_such")).partitionSettings(bundle));
        UsageException e = assertThrows(UsageException.class,
                () -> JobSettings.parse(base("--max-input-tokens", "100", "--max-batch-tokens", "99")).partitionSettings(bundle));
        assertTrue(e.getMessage().contains("--max-batch-tokens 99 must be at least --max-input-tokens 100"), e.getMessage());
    }
}
