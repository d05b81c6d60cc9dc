package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.TestPaths;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduled runs on a standalone cluster on 127.0.0.1 when things break: an executor JVM killed
 * with SIGKILL mid-run, the driver killed mid-run and started again, a corrupt file among good
 * ones. Each compares the final output with a clean local run and prints rows in / rows out /
 * duplicates / gaps.
 */
class FaultToleranceIT {
    @TempDir
    static Path tmp;
    static StandaloneCluster cluster;
    static Path corpus;      // 4 files of 100 lines
    static Map<String, JsonNode> clean; // "file#id" -> row of a clean local incremental run

    @BeforeAll
    static void start() throws Exception {
        corpus = tmp.resolve("corpus");
        Files.createDirectories(corpus);
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"));
        for (int f = 0; f < 4; f++) {
            List<String> part = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                part.add(lines.get((i * 7 + f * 13) % lines.size()) + (f > 0 ? " " + "Again.".repeat(f) : ""));
            }
            Files.write(corpus.resolve("part-" + f + ".txt"), part);
        }
        Path out = tmp.resolve("clean");
        assertEquals(0, TranslateJob.run("--master", "local[2]", "--model", TestPaths.sampleModel().toString(),
                "--input", corpus.toString(), "--output", out.toString(), "--output-format", "jsonl",
                "--incremental", "--beam-size", "1"));
        clean = rows(out);
        assertEquals(400, clean.size());
        cluster = new StandaloneCluster(tmp, 2, 1, "1536m");
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** All rows under an incremental output's data/ directory, keyed by file and id. */
    static Map<String, JsonNode> rows(Path out) throws IOException {
        Map<String, JsonNode> m = new HashMap<>();
        int duplicates = 0;
        try (Stream<Path> s = Files.walk(out.resolve("data"))) {
            for (Path f : s.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    JsonNode r = io.sparknmt.Fixtures.JSON.readTree(line);
                    String key = Path.of(r.get("source_file").asText().replaceFirst("^file:", "")).getFileName()
                            + "#" + r.get("id").asLong();
                    if (m.put(key, r) != null) {
                        duplicates++;
                    }
                }
            }
        }
        if (duplicates > 0) {
            throw new AssertionError(duplicates + " duplicate rows in " + out);
        }
        return m;
    }

    /** Compares with the clean run; prints rows in / out / duplicates / gaps. */
    static void assertSameAsClean(String name, Path out) throws IOException {
        Map<String, JsonNode> got = rows(out); // throws on duplicates
        int gaps = 0;
        int differ = 0;
        for (Map.Entry<String, JsonNode> e : clean.entrySet()) {
            JsonNode g = got.get(e.getKey());
            if (g == null) {
                gaps++;
            } else if (!g.get("translation").equals(e.getValue().get("translation"))) {
                differ++;
            }
        }
        System.out.printf("%s: rows in %d, rows out %d, duplicates 0, gaps %d, different translations %d%n",
                name, clean.size(), got.size(), gaps, differ);
        assertEquals(0, gaps, name + ": gaps");
        assertEquals(clean.size(), got.size(), name + ": rows out");
        assertEquals(0, differ, name + ": translations differ from the clean run");
    }

    List<String> jobArgs(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("--model", TestPaths.sampleModel().toString(), "--input",
                corpus.toString(), "--output", out.toString(), "--output-format", "jsonl", "--incremental",
                "--beam-size", "1", "--num-partitions", "6"));
        a.addAll(List.of(more));
        return a;
    }

    static final List<String> CONF = List.of("spark.executor.memory=1g", "spark.executor.cores=1", "spark.cores.max=2",
            "spark.driver.memory=1g", "spark.task.maxFailures=8");

    @Test
    void executorKilledMidRunTheJobStillCompletesIdentically() throws Exception {
        Path out = tmp.resolve("executor-kill");
        Path log = tmp.resolve("executor-kill.log");
        java.util.Set<Path> before = executorLogs();
        Path events = Files.createDirectories(tmp.resolve("executor-kill-events"));
        List<String> conf = new ArrayList<>(CONF);
        conf.add("spark.eventLog.enabled=true");
        conf.add("spark.eventLog.dir=" + events.toUri());
        conf.add("spark.eventLog.compress=false"); // Spark 4 compresses (zstd) and rolls by default
        conf.add("spark.eventLog.rolling.enabled=false");
        Process submit = startSubmit(out, log, jobArgs(out, "--commit-every-files", "4"), conf);
        ProcessHandle victim = waitForWorkingExecutor(submit, log, before);
        victim.destroyForcibly(); // SIGKILL
        System.out.println("killed executor pid " + victim.pid());
        assertTrue(submit.waitFor(10, TimeUnit.MINUTES), "submit finished");
        String text = Files.readString(log);
        assertEquals(0, submit.exitValue(), text);
        assertTrue(text.contains("rows         in 400, out 400"), text);
        // The driver's own record of what happened: the executor was lost while it ran tasks, and
        // those tasks ran again (attempt >= 1) and succeeded.
        long removed = 0;
        java.util.Set<String> lost = new java.util.HashSet<>(); // stage:index of the tasks lost with the executor
        long retriedOk = 0;
        try (Stream<Path> s = Files.walk(events)) {
            for (Path f : s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")
                    && !p.getFileName().toString().endsWith(".crc")).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    JsonNode e = io.sparknmt.Fixtures.JSON.readTree(line);
                    String type = e.path("Event").asText();
                    if (type.equals("SparkListenerExecutorRemoved")) {
                        removed++;
                    } else if (type.equals("SparkListenerTaskEnd")) {
                        String reason = e.path("Task End Reason").path("Reason").asText();
                        String task = e.path("Stage ID").asInt() + ":" + e.path("Task Info").path("Index").asInt();
                        if (reason.equals("ExecutorLostFailure")) {
                            lost.add(task);
                        } else if (reason.equals("Success") && lost.contains(task)) {
                            retriedOk++; // the same task (stage, partition) run again, to success
                        }
                    }
                }
            }
        }
        long lostTasks = lost.size();
        System.out.printf("executor SIGKILL: executors removed %d, tasks lost with it %d, retried tasks that succeeded %d%n",
                removed, lostTasks, retriedOk);
        assertTrue(removed >= 1, "the event log shows no executor removed");
        assertTrue(lostTasks >= 1, "the killed executor was running no task (the kill did not land mid-work)");
        assertTrue(retriedOk >= 1, "no task was retried to success");
        assertSameAsClean("executor SIGKILL", out);
    }

    @Test
    void driverKilledMidRunResumesAndFinishesIdentically() throws Exception {
        Path out = tmp.resolve("driver-kill");
        Path log = tmp.resolve("driver-kill-1.log");
        Process first = startSubmit(out, log, jobArgs(out, "--commit-every-files", "1"));
        Path manifest = out.resolve("_manifest.json");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
        while (!Files.exists(manifest) && first.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(Files.exists(manifest), "a first group was committed: " + Files.readString(log));
        first.toHandle().destroyForcibly(); // SIGKILL the driver (client mode: the spark-submit JVM)
        first.waitFor(30, TimeUnit.SECONDS);
        // What the dead driver had committed: some groups, not all (else the rerun proves nothing).
        Path current = Files.exists(manifest) ? manifest : out.resolve(Manifest.PREVIOUS);
        int committed = io.sparknmt.Fixtures.JSON.readTree(current.toFile()).path("files").size();
        System.out.println("killed the driver with " + committed + " of 4 files committed");
        assertTrue(committed >= 1 && committed < 4, "committed when killed: " + committed + " of 4");
        Path log2 = tmp.resolve("driver-kill-2.log");
        int rc = cluster.submit(StandaloneClusterIT.appJar(), TranslateJob.class.getName(), log2, CONF,
                jobArgs(out, "--commit-every-files", "1"));
        String text = Files.readString(log2);
        assertEquals(0, rc, text);
        // the rerun did exactly the rest
        assertTrue(text.matches("(?s).*inputs\\s+4 files: " + (4 - committed) + " translated, " + committed
                + " skipped.*"), text);
        assertSameAsClean("driver SIGKILL + restart", out);
    }

    @Test
    void corruptFileAmongGoodOnesIsReportedAndTheRestTranslated() throws Exception {
        Path in = tmp.resolve("mixed");
        Files.createDirectories(in);
        Files.copy(corpus.resolve("part-0.txt"), in.resolve("good.txt"));
        byte[] gz;
        try (var bos = new java.io.ByteArrayOutputStream(); OutputStream os = new GZIPOutputStream(bos)) {
            os.write(Files.readAllBytes(corpus.resolve("part-1.txt")));
            os.close();
            gz = bos.toByteArray();
        }
        Files.write(in.resolve("broken.txt.gz"), java.util.Arrays.copyOf(gz, gz.length / 2)); // cut in half
        Path out = tmp.resolve("mixed-out");
        Path report = tmp.resolve("mixed-report.json");
        Path log = tmp.resolve("mixed.log");
        List<String> args = new ArrayList<>(List.of("--model", TestPaths.sampleModel().toString(), "--input",
                in.toString(), "--output", out.toString(), "--output-format", "jsonl", "--incremental",
                "--beam-size", "1", "--report", report.toString()));
        int rc = cluster.submit(StandaloneClusterIT.appJar(), TranslateJob.class.getName(), log, CONF, args);
        String text = Files.readString(log);
        assertEquals(TranslateJob.EXIT_INPUT_FILES, rc, text);
        JsonNode rep = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(report.toFile());
        Map<String, JsonNode> byName = new HashMap<>();
        rep.get("inputs").forEach(i -> byName.put(Path.of(i.get("path").asText().replaceFirst("^file:", ""))
                .getFileName().toString(), i));
        assertEquals("translated", byName.get("good.txt").get("outcome").asText());
        assertEquals(100, byName.get("good.txt").get("rows").asLong());
        assertEquals("failed", byName.get("broken.txt.gz").get("outcome").asText());
        assertTrue(byName.get("broken.txt.gz").get("reason").asText().contains("broken.txt.gz"), rep.toString());
        assertTrue(text.contains("failed     "), text);
        System.out.printf("corrupt file: exit %d, good.txt %d rows translated, broken.txt.gz reported: %s%n", rc,
                byName.get("good.txt").get("rows").asLong(), byName.get("broken.txt.gz").get("reason").asText());
    }

    private Process startSubmit(Path out, Path log, List<String> args) throws IOException {
        return startSubmit(out, log, args, CONF);
    }

    private Process startSubmit(Path out, Path log, List<String> args, List<String> conf) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(StandaloneCluster.jvmFlags());
        cmd.addAll(List.of("-Xmx1g", "-cp", cluster.home.resolve("jars") + File.separator + "*",
                "org.apache.spark.deploy.SparkSubmit", "--master", cluster.masterUrl(), "--class",
                TranslateJob.class.getName()));
        for (String c : conf) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.add(StandaloneClusterIT.appJar().toString());
        cmd.addAll(args);
        return cluster.builder(cmd, log).start();
    }

    /** Waits until an executor of the running application has loaded the model and is translating. */
    private static java.util.Set<Path> executorLogs() throws IOException {
        try (Stream<Path> s = Files.walk(cluster.work)) {
            return new java.util.HashSet<>(s.filter(p -> p.getFileName().toString().equals("stderr")).toList());
        }
    }

    private ProcessHandle waitForWorkingExecutor(Process submit, Path log, java.util.Set<Path> old) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < deadline && submit.isAlive()) {
            try (Stream<Path> s = Files.walk(cluster.work)) {
                for (Path e : s.filter(p -> p.getFileName().toString().equals("stderr") && !old.contains(p)).toList()) {
                    if (Files.readString(e).contains("deserialized once in executor")) {
                        Thread.sleep(1500); // let it get into its tasks
                        for (ProcessHandle h : cluster.executors()) {
                            if (h.isAlive()) {
                                return h;
                            }
                        }
                    }
                }
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException ignored) {
                // a log appeared or moved while walking
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no executor started working: " + Files.readString(log));
    }
}
