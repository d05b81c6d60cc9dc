package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job submitted through SparkSubmit with the slim application jar to a standalone master
 * with two workers on 127.0.0.1: executors run in JVMs of their own, each deserializes the
 * broadcast model once, and the output equals local mode's row for row.
 */
class StandaloneClusterIT {
    @TempDir
    Path tmp;

    /** The slim jar of the profile under test (failsafe passes its path; it is made in package). */
    static Path appJar() throws IOException {
        Path jar = Path.of(System.getProperty("spark.nmt.app.jar", "target/no-app-jar-property"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no slim jar " + jar + ": run mvn package (with the same -P) first");
        }
        return jar;
    }

    @Test
    void clusterOutputEqualsLocalModeRowForRow() throws Exception {
        Path input = TestPaths.repo().resolve("sample-data/corpus/en.txt");
        Path localOut = tmp.resolve("local");
        assertEquals(0, TranslateJob.run("--master", "local[2]", "--model", TestPaths.sampleModel().toString(),
                "--input", input.toString(), "--output", localOut.toString(), "--output-format", "jsonl",
                "--beam-size", "2"));
        Path clusterOut = tmp.resolve("cluster");
        try (StandaloneCluster cluster = new StandaloneCluster(tmp, 2, 1, "1536m")) {
            Path log = tmp.resolve("submit.log");
            int rc = cluster.submit(appJar(), TranslateJob.class.getName(), log,
                    List.of("spark.executor.memory=1g", "spark.executor.cores=1", "spark.cores.max=2",
                            "spark.driver.memory=1g"),
                    List.of("--model", TestPaths.sampleModel().toString(), "--input", input.toString(),
                            "--output", clusterOut.toString(), "--output-format", "jsonl", "--beam-size", "2",
                            "--num-partitions", "4"));
            String submitLog = Files.readString(log);
            assertEquals(0, rc, submitLog);
            assertTrue(submitLog.contains("rows         in 100, out 100"), submitLog);
            assertTrue(submitLog.contains("runtime      " + RuntimeVersionsTest.expectedPrefix()), submitLog);

            // Executors ran in two JVMs of their own, and each deserialized the broadcast once.
            List<Path> stderrs;
            try (Stream<Path> s = Files.walk(cluster.work)) {
                stderrs = s.filter(p -> p.getFileName().toString().equals("stderr")).toList();
            }
            assertEquals(2, stderrs.size(), "executor logs: " + stderrs);
            java.util.Set<String> pids = new java.util.HashSet<>();
            for (Path e : stderrs) {
                String text = Files.readString(e);
                long loads = text.lines().filter(l -> l.contains("deserialized once in executor")).count();
                assertEquals(1, loads, "broadcast deserializations in " + e + ":\n" + text);
                // The Vector API path on every line (Spark 3.5 needs the SparkLine shim for it).
                assertTrue(text.contains("spark-nmt kernels: vector("), "executor kernels in " + e + ":\n" + text);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(pid (\\d+)\\)").matcher(text);
                assertTrue(m.find(), e.toString());
                pids.add(m.group(1));
            }
            assertEquals(2, pids.size(), "two executor JVMs");
            assertTrue(!pids.contains(String.valueOf(ProcessHandle.current().pid())));
        }
        // Local mode gives the rows committed from the default line, so every line's cluster does too.
        SampleJobGolden.check(TranslateJobTest.readJsonl(localOut), "sample-job-beam2.jsonl");
        Map<Long, JsonNode> local = TranslateJobTest.byId(TranslateJobTest.readJsonl(localOut));
        Map<Long, JsonNode> cluster = TranslateJobTest.byId(TranslateJobTest.readJsonl(clusterOut));
        assertEquals(local.size(), cluster.size());
        assertEquals(100, local.size());
        for (Map.Entry<Long, JsonNode> e : local.entrySet()) {
            assertEquals(e.getValue(), cluster.get(e.getKey()), "row " + e.getKey());
        }
    }
}
