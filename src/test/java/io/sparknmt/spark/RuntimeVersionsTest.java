package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The summary on stdout and the JSON report name the Spark, Scala and Java versions the job ran
 * on, and they are those of the Maven profile under test (surefire passes what the profile built
 * against), so a line's run can be told from another's.
 */
class RuntimeVersionsTest {
    @TempDir
    Path tmp;

    /** "spark 3.5.9, scala 2.12." for the profile under test. */
    static String expectedPrefix() {
        return "spark " + System.getProperty("spark.nmt.expected.spark.version") + ", scala "
                + System.getProperty("spark.nmt.expected.scala.binary") + ".";
    }

    @Test
    void summaryAndReportNameTheRuntime() throws Exception {
        String spark = System.getProperty("spark.nmt.expected.spark.version");
        String scalaBin = System.getProperty("spark.nmt.expected.scala.binary");
        assertTrue(spark != null && scalaBin != null, "surefire passes the profile's versions");
        Path in = tmp.resolve("in.txt");
        Files.write(in, Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 4));
        Path report = tmp.resolve("report.json");

        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int rc;
        try (PrintStream tee = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(tee);
            rc = TranslateJob.run("--master", "local[1]", "--model", TestPaths.sampleModel().toString(),
                    "--input", in.toString(), "--output", tmp.resolve("out").toString(), "--output-format", "jsonl",
                    "--beam-size", "1", "--report", report.toString());
        } finally {
            System.setOut(stdout);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        stdout.print(out);
        assertEquals(0, rc, out);

        String javaVersion = System.getProperty("java.version");
        String line = out.lines().filter(l -> l.startsWith("  runtime ")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(line.matches("  runtime +spark " + Pattern.quote(spark) + ", scala "
                + Pattern.quote(scalaBin) + "\\.\\d+, java " + Pattern.quote(javaVersion)), line);
        assertTrue(line.contains(expectedPrefix()), line);

        JsonNode rt = Fixtures.JSON.readTree(report.toFile()).get("runtime");
        assertEquals(spark, rt.get("spark").asText());
        assertTrue(rt.get("scala").asText().startsWith(scalaBin + "."), rt.toString());
        assertEquals(javaVersion, rt.get("java").asText());
        assertEquals(List.of("java", "scala", "spark"), sortedNames(rt));
        // And it is what this JVM runs, not only what the build says.
        assertEquals(org.apache.spark.package$.MODULE$.SPARK_VERSION(), rt.get("spark").asText());
        assertEquals(scala.util.Properties.versionNumberString(), rt.get("scala").asText());
    }

    private static List<String> sortedNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        names.sort(null);
        return names;
    }
}
