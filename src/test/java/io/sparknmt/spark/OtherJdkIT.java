package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sparknmt.TestPaths;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same translations and the same scores, to the last bit, on every JDK installed under
 * /usr/lib/jvm (here: OpenJDK 17 and Temurin 25): executors of one cluster may run different
 * JDKs, and a nightly run should not change its scores when the JDK is upgraded. Found by this
 * check: {@code Math.sin/exp/log} are intrinsics whose last bits differ between JDK releases, and
 * on Java 25 the compiled {@code reduceLanes(ADD)} adds lanes in another order than the
 * interpreter. Skipped where only one JDK is installed.
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
        Path out = dir.resolve(name);
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/java").toString());
        cmd.addAll(StandaloneCluster.jvmFlags());
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(StandaloneClusterIT.appJar() + File.pathSeparator + System.getProperty("java.class.path"));
        cmd.add(TranslateJob.class.getName());
        cmd.addAll(List.of("--master", "local[2]", "--model", TestPaths.sampleModel().toString(), "--input",
                TestPaths.repo().resolve("sample-data/corpus/en.txt").toString(), "--output", out.toString(),
                "--output-format", "jsonl"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(name + ": the job did not finish in 5 minutes; log: " + Files.readString(log));
        }
        assertEquals(0, p.exitValue(), () -> name + " failed: " + readQuietly(log));
        List<String> lines = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            for (Path part : s.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                lines.addAll(Files.readAllLines(part));
            }
        }
        lines.sort(null);
        return lines;
    }

    private static String readQuietly(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
