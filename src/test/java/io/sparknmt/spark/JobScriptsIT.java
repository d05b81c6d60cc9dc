package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jobs/ scripts run as a user runs them: bash, from the repository, with the environment a
 * shell has (plus the Spark line under test in {@code NMT_SPARK_PROFILE}). verify runs these after
 * package, which leaves the slim jar and classpath.txt the scripts use, so they do not build again
 * (a test asserts that too: a script that started Maven inside verify would fight it for target/).
 */
class JobScriptsIT {
    private static final long TIMEOUT_S = 300;

    @TempDir
    Path tmp;

    private final List<String> started = new ArrayList<>();

    /** Whatever a test started with local-cluster, stopped even when the test failed. */
    @AfterEach
    void stopCluster() throws Exception {
        if (!started.isEmpty()) {
            run(List.of("jobs/local-cluster", "stop"), Map.of("NMT_MASTER_PORT", started.get(0),
                    "NMT_UI_PORT", started.get(1)));
        }
    }

    record Result(int rc, String output) {
    }

    /** Runs a script from the repository root; stdout and stderr together. */
    Result run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        Path log = Files.createTempFile(tmp, "script", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(TestPaths.repo().toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("NMT_SPARK_PROFILE", System.getProperty("spark.nmt.profile", "spark-4"));
        pb.environment().put("NMT_JAVA_OPTS", "-Xmx2g");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(command + " still running after " + TIMEOUT_S + " s:\n" + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertFalse(out.contains("spark-nmt: building"), "the script built again inside verify:\n" + out);
        return new Result(p.exitValue(), out);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private String[] quickStart(Path out) {
        return new String[] {"--model", "sample-data/model", "--input", "sample-data/corpus/en.txt",
                "--output", out.toString(), "--output-format", "jsonl", "--overwrite"};
    }

    @Test
    void translateRunsTheQuickStartAndHelpListsTheOptions() throws Exception {
        Path out = tmp.resolve("quick");
        List<String> cmd = new ArrayList<>(List.of("jobs/translate"));
        cmd.addAll(List.of(quickStart(out)));
        Result r = run(cmd, Map.of());
        assertEquals(0, r.rc(), r.output());
        assertTrue(r.output().contains("rows         in 100, out 100"), r.output());
        SampleJobGolden.check(TranslateJobTest.readJsonl(out), "sample-job-quickstart.jsonl");

        Result help = run(List.of("jobs/translate", "--help"), Map.of());
        assertEquals(0, help.rc(), help.output());
        for (String flag : List.of("--model", "--input", "--output", "--beam-size", "--max-error-rate", "--incremental")) {
            assertTrue(help.output().contains(flag), flag + " missing from --help:\n" + help.output());
        }
        Result bad = run(List.of("jobs/translate", "--model", "sample-data/model"), Map.of());
        assertEquals(2, bad.rc(), "a usage error is exit 2:\n" + bad.output());
    }

    @Test
    void scheduledRunTranslatesOnceThenSkipsAndWritesItsReport() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"));
        Files.write(corpus.resolve("a.txt"), lines.subList(0, 20));
        Files.write(corpus.resolve("b.txt"), lines.subList(20, 30));
        Path out = tmp.resolve("runs/de");
        Path report = tmp.resolve("runs/report.json");
        List<String> cmd = List.of("jobs/translate-scheduled", "--model", "sample-data/model",
                "--input", corpus.resolve("*.txt").toString(), "--output", out.toString(),
                "--report", report.toString(), "--beam-size", "1");
        Result first = run(cmd, Map.of());
        assertEquals(0, first.rc(), first.output());
        JsonNode r1 = new ObjectMapper().readTree(report.toFile());
        assertEquals(30, r1.get("rows_in").asLong(), r1.toString());
        assertEquals(30, r1.get("rows_translated").asLong(), r1.toString());
        assertEquals(2, outcomes(r1, "translated"), r1.toString());

        Files.write(corpus.resolve("c.txt"), lines.subList(30, 35));
        Result second = run(cmd, Map.of());
        assertEquals(0, second.rc(), second.output());
        JsonNode r2 = new ObjectMapper().readTree(report.toFile());
        assertEquals(1, outcomes(r2, "translated"), "only the new file: " + r2);
        assertEquals(2, outcomes(r2, "skipped"), r2.toString());
        assertEquals(5, r2.get("rows_translated").asLong(), r2.toString());
        assertEquals(30, r2.get("rows_skipped").asLong(), r2.toString());
    }

    @Test
    void localClusterStartsSubmitsAndStops() throws Exception {
        String port = String.valueOf(freePort());
        String ui = String.valueOf(freePort());
        Map<String, String> env = Map.of("NMT_MASTER_PORT", port, "NMT_UI_PORT", ui);
        started.addAll(List.of(port, ui));
        Result start = run(List.of("jobs/local-cluster", "start", "2"), env);
        assertEquals(0, start.rc(), start.output());
        assertTrue(start.output().contains("master spark://127.0.0.1:" + port), start.output());
        assertTrue(start.output().contains("2 workers registered"), start.output());
        List<Long> pids = clusterPids();
        assertEquals(3, pids.size(), "master and two workers");
        for (long pid : pids) {
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " alive");
        }

        Path out = tmp.resolve("cluster-out");
        List<String> submit = new ArrayList<>(List.of("jobs/local-cluster", "submit"));
        submit.addAll(List.of(quickStart(out)));
        Result sub = run(submit, env);
        assertEquals(0, sub.rc(), sub.output());
        assertTrue(sub.output().contains("rows         in 100, out 100"), sub.output());
        SampleJobGolden.check(TranslateJobTest.readJsonl(out), "sample-job-quickstart.jsonl");

        Result stop = run(List.of("jobs/local-cluster", "stop"), env);
        assertEquals(0, stop.rc(), stop.output());
        started.clear();
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " still alive after stop");
        }
        Result again = run(List.of("jobs/local-cluster", "submit", "--model", "x"), env);
        assertEquals(1, again.rc(), again.output());
        assertTrue(again.output().contains("not running"), again.output());
    }

    @Test
    void localClusterStartFailsLoudlyWhenTheMasterCannotComeUp() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            String ui = String.valueOf(freePort());
            started.addAll(List.of(port, ui));
            Result start = run(List.of("jobs/local-cluster", "start", "1"), Map.of("NMT_MASTER_PORT", port, "NMT_UI_PORT", ui));
            assertEquals(1, start.rc(), start.output());
            assertTrue(start.output().contains("spark-nmt local-cluster: the master exited"), start.output());
            assertTrue(start.output().contains("master.log"), "the log is shown: " + start.output());
            assertFalse(start.output().contains("workers registered"), start.output());
            assertTrue(clusterPids().isEmpty(), "nothing left running: " + clusterPids());
        }
    }

    private static long outcomes(JsonNode report, String outcome) {
        long n = 0;
        for (JsonNode i : report.get("inputs")) {
            n += i.get("outcome").asText().equals(outcome) ? 1 : 0;
        }
        return n;
    }

    /** The pids local-cluster recorded (its state folder is the build folder's local-cluster/). */
    private List<Long> clusterPids() throws IOException {
        String profile = System.getProperty("spark.nmt.profile", "spark-4");
        Path state = TestPaths.repo().resolve(profile.equals("spark-4") ? "target" : "target/" + profile).resolve("local-cluster");
        List<Long> pids = new ArrayList<>();
        if (Files.isDirectory(state)) {
            try (var s = Files.list(state)) {
                for (Path f : s.filter(p -> p.toString().endsWith(".pid")).sorted().toList()) {
                    pids.add(Long.parseLong(Files.readString(f).trim()));
                }
            }
        }
        return pids;
    }
}
