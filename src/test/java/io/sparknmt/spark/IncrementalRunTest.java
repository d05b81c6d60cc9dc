package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scheduled runs in local mode: only new work is done, and the report follows its schema. */
class IncrementalRunTest {
    static SparkSession spark;
    static JsonSchema schema;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("IncrementalRunTest").set("spark.ui.showConsoleProgress", "false")))
                .getOrCreate();
        schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(Files.readString(TestPaths.repo().resolve("docs/run-report.schema.json")));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private JsonNode run(Path in, Path out, String name, String... extra) throws IOException {
        Path report = tmp.resolve(name + ".json");
        List<String> args = new java.util.ArrayList<>(List.of("--model", TestPaths.sampleModel().toString(),
                "--input", in.toString(), "--output", out.toString(), "--incremental", "--beam-size", "1",
                "--output-format", "jsonl", "--report", report.toString()));
        args.addAll(List.of(extra));
        assertEquals(0, TranslateJob.run(args.toArray(String[]::new)));
        JsonNode rep = Fixtures.JSON.readTree(report.toFile());
        Set<ValidationMessage> errors = schema.validate(rep);
        assertTrue(errors.isEmpty(), () -> "report does not follow docs/run-report.schema.json: " + errors + "\n" + rep);
        return rep;
    }

    @Test
    void secondRunDecodesNothingAndANewFileIsTheOnlyWork() throws IOException {
        Path in = tmp.resolve("in");
        Files.createDirectories(in);
        List<String> lines = Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt"));
        Files.write(in.resolve("a.txt"), lines.subList(0, 30));
        Files.write(in.resolve("b.txt"), lines.subList(30, 50));
        Path out = tmp.resolve("out");

        JsonNode first = run(in, out, "first");
        assertEquals(50, first.get("rows_translated").asLong());
        assertEquals(0, first.get("rows_skipped").asLong());
        assertTrue(first.get("executors").size() >= 1);

        JsonNode second = run(in, out, "second");
        assertEquals(0, second.get("rows_translated").asLong(), second.toString());
        assertEquals(50, second.get("rows_skipped").asLong());
        assertEquals(0, second.get("target_tokens").asLong());
        System.out.printf("incremental: first run %.1f s wall, second run %.1f s wall (0 rows translated, 50 skipped)%n",
                first.get("wall_seconds").asDouble(), second.get("wall_seconds").asDouble());

        // Killed while the manifest was being replaced (the current one moved aside, the new one
        // not yet in place): the next run still knows what was done.
        Files.move(out.resolve("_manifest.json"), out.resolve("_manifest.json.old"));
        JsonNode afterGap = run(in, out, "after-gap");
        assertEquals(0, afterGap.get("rows_translated").asLong(), afterGap.toString());

        Files.write(in.resolve("c.txt"), lines.subList(50, 60));
        JsonNode third = run(in, out, "third");
        assertEquals(10, third.get("rows_translated").asLong());
        assertTrue(Files.exists(out.resolve("_manifest.json")));
        assertTrue(!Files.exists(out.resolve("_manifest.json.old")), "the previous manifest is removed once replaced");
        assertEquals(50, third.get("rows_skipped").asLong());
        for (JsonNode i : third.get("inputs")) {
            boolean isNew = i.get("path").asText().endsWith("c.txt");
            assertEquals(isNew ? "translated" : "skipped", i.get("outcome").asText(), i.toString());
        }

        // A changed file is redone and replaces its own output, no duplicates.
        Files.write(in.resolve("a.txt"), lines.subList(0, 25));
        JsonNode fourth = run(in, out, "fourth");
        assertEquals(25, fourth.get("rows_translated").asLong());
        long rowsInA;
        try (var s = Files.walk(out.resolve("data"))) {
            rowsInA = s.filter(p -> p.toString().contains("source_key=a.txt") && p.getFileName().toString().startsWith("part-"))
                    .mapToLong(p -> {
                        try {
                            return Files.readAllLines(p).size();
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).sum();
        }
        assertEquals(25, rowsInA);

        JsonNode forced = run(in, out, "forced", "--force");
        assertEquals(55, forced.get("rows_translated").asLong());
    }
}
