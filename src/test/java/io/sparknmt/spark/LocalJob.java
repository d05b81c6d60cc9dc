package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Test helper: the job in a JVM of its own (local mode), for checks that need other JVM flags or another JDK. */
final class LocalJob {
    /** The output rows (jsonl lines, sorted) and the JVM's log. */
    record Result(List<String> rows, String log) {
    }

    private LocalJob() {
    }

    /**
     * The packaged jar and a path separator when {@code mvn package} made it from the current
     * classes (verify), else nothing (test phase, or a jar older than the classes): target/classes
     * on the test class path hold the same classes.
     */
    private static String appJarIfBuilt() throws IOException {
        Path jar;
        try {
            jar = StandaloneClusterIT.appJar();
        } catch (IllegalStateException e) {
            return "";
        }
        Path classes = io.sparknmt.TestPaths.repo().resolve("target/classes/io/sparknmt/spark/TranslateJob.class");
        boolean fresh = !Files.exists(classes)
                || Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(classes)) >= 0;
        return fresh ? jar + File.pathSeparator : "";
    }

    /**
     * Runs TranslateJob with the JDK at {@code javaHome}, the project's JVM flags plus {@code jvmFlags},
     * writing jsonl into {@code dir/name}; fails the test if the job fails or takes over 5 minutes.
     */
    static Result run(Path javaHome, List<String> jvmFlags, List<String> jobArgs, Path dir, String name)
            throws IOException, InterruptedException {
        Path out = dir.resolve(name);
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(javaHome.resolve("bin/java").toString());
        cmd.addAll(StandaloneCluster.jvmFlags());
        cmd.add("-Xmx1g");
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(appJarIfBuilt() + System.getProperty("java.class.path"));
        cmd.add(TranslateJob.class.getName());
        cmd.addAll(jobArgs);
        cmd.addAll(List.of("--output", out.toString(), "--output-format", "jsonl"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(name + ": the job did not finish in 5 minutes; log: " + Files.readString(log));
        }
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), () -> name + " failed: " + text);
        List<String> lines = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            for (Path part : s.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                lines.addAll(Files.readAllLines(part));
            }
        }
        lines.sort(null);
        return new Result(lines, text);
    }
}
