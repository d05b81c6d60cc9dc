package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sparknmt.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same translations and the same scores, to the last bit, on every JDK installed under
 * /usr/lib/jvm (here: OpenJDK 17 and Temurin 25): executors of one cluster may run different
 * JDKs, and a nightly run should not change its scores when the JDK is upgraded. Found by this
 * check: {@code Math.sin/exp/log} are intrinsics whose last bits differ between JDK releases, and
 * on Java 25 the compiled {@code reduceLanes(ADD)} adds lanes in another order than the
 * interpreter. Where only one JDK is installed it fails under CI (CI=true: these machines have two)
 * and elsewhere skips with a warning on stderr.
 */
class OtherJdkIT {
    @TempDir
    Path dir;

    @Test
    void sampleRunIsTheSameRowForRowOnEveryInstalledJdk() throws Exception {
        Path current = Path.of(System.getProperty("java.home")).toRealPath();
        List<Path> others = new ArrayList<>();
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> s = Files.list(jvms)) {
                for (Path home : s.sorted().toList()) {
                    Path java = home.resolve("bin/java");
                    if (Files.isExecutable(java) && Files.isRegularFile(home.resolve("release"))
                            && !home.toRealPath().equals(current) && others.stream().noneMatch(o -> same(o, home))) {
                        others.add(home);
                    }
                }
            }
        }
        if (others.isEmpty()) {
            // CI runs on machines that have OpenJDK 17 and Temurin 25: there, one JDK is a broken setup.
            assertFalse("true".equals(System.getenv("CI")), "CI must have at least two JDKs under /usr/lib/jvm, found only "
                    + current + " (install a second one, e.g. Temurin 25)");
            System.err.println("WARNING: OtherJdkIT did NOT run: only one JDK (" + current
                    + ") under /usr/lib/jvm; the same-bits-on-every-JDK check needs two");
        }
        assumeTrue(!others.isEmpty(), "only one JDK installed under /usr/lib/jvm");
        List<String> reference = run(current, "reference");
        assertEquals(100, reference.size());
        for (Path other : others) {
            List<String> got = run(other, other.getFileName().toString());
            assertEquals(reference.size(), got.size(), other + ": rows");
            for (int i = 0; i < reference.size(); i++) {
                assertEquals(reference.get(i), got.get(i), other + " vs " + current + ", row " + i);
            }
            System.out.printf("%s and %s: %d rows identical (text and score)%n", current.getFileName(),
                    other.getFileName(), got.size());
        }
    }

    private static boolean same(Path a, Path b) {
        try {
            return a.toRealPath().equals(b.toRealPath());
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs the job on the sample corpus (local mode) with the JDK at {@code home}; its output lines, sorted. */
    private List<String> run(Path home, String name) throws Exception {
        return LocalJob.run(home, List.of(), List.of("--master", "local[2]", "--model",
                TestPaths.sampleModel().toString(), "--input",
                TestPaths.repo().resolve("sample-data/corpus/en.txt").toString()), dir, name).rows();
    }
}
