package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile or unresolvable models end the job with exit code 3 and a message naming the file. */
class CheckpointExitCodeTest {
    @TempDir
    Path tmp;

    private String run(String model, int expect) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(expect, TranslateJob.run("--model", model, "--input",
                    TestPaths.repo().resolve("sample-data/corpus/en.txt").toString(), "--output", tmp.resolve("out").toString()));
        } finally {
            System.setErr(err);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private Path withSmallFiles(String name) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        for (String f : List.of("config.json", "generation_config.json", "tokenizer_config.json", "vocab.json",
                "source.spm", "target.spm")) {
            Files.copy(TestPaths.sampleModel().resolve(f), d.resolve(f));
        }
        return d;
    }

    @Test
    void hostileBinNpzAndUnknownHubIdsExitWith3() throws IOException {
        Path evil = withSmallFiles("evil");
        Files.copy(TestPaths.repo().resolve("src/test/resources/checkpoints/evil-os-system.bin"), evil.resolve("pytorch_model.bin"));
        String m = run(evil.toString(), TranslateJob.EXIT_MODEL);
        assertTrue(m.contains("pytorch_model.bin") && m.contains("global posix.system is not allowed"), m);

        Path trunc = withSmallFiles("trunc");
        byte[] z = Files.readAllBytes(TestPaths.repo().resolve("src/test/resources/checkpoints/tiny-zip.bin"));
        Files.write(trunc.resolve("pytorch_model.bin"), Arrays.copyOf(z, 100));
        m = run(trunc.toString(), TranslateJob.EXIT_MODEL);
        assertTrue(m.contains("pytorch_model.bin") && m.contains("broken zip archive"), m);

        Path npz = tmp.resolve("release");
        Files.createDirectories(npz);
        Files.write(npz.resolve("model.npz"), new byte[]{'P', 'K', 3, 4, 0, 0});
        m = run(npz.toString(), TranslateJob.EXIT_MODEL);
        assertTrue(m.contains("model.npz") && m.contains("not a readable .npz"), m);

        m = run("Nobody-Here/no-such-model-" + System.nanoTime(), TranslateJob.EXIT_MODEL);
        assertTrue(m.contains("never downloads") && m.contains("Tried:") && m.contains("refs/main"), m);
    }
}
