package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparknmt.Fixtures;
import io.sparknmt.TestPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The sample job's output rows as committed in src/test/resources/golden (made on the default
 * line, spark-4): every Spark line must give them exactly, translations and scores to the last
 * bit (JSON doubles compare by value). Only {@code source_file}, an absolute path, is left out.
 * {@code -Dspark.nmt.golden.write=true} rewrites the file instead (after a deliberate change).
 */
final class SampleJobGolden {
    private SampleJobGolden() {
    }

    static Path file(String name) {
        return TestPaths.repo().resolve("src/test/resources/golden").resolve(name);
    }

    /** The rows sorted by id, without source_file, one JSON object a line. */
    static List<String> normalized(List<JsonNode> rows) {
        List<JsonNode> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(r -> r.get("id").asLong()));
        List<String> out = new ArrayList<>();
        for (JsonNode r : sorted) {
            ObjectNode o = r.deepCopy();
            o.remove("source_file");
            out.add(o.toString());
        }
        return out;
    }

    /** Fails unless the rows equal the golden file's, row for row and field for field. */
    static void check(List<JsonNode> rows, String name) throws IOException {
        List<String> actual = normalized(rows);
        Path golden = file(name);
        if (Boolean.getBoolean("spark.nmt.golden.write")) {
            Files.createDirectories(golden.getParent());
            Files.write(golden, actual, StandardCharsets.UTF_8);
            return;
        }
        List<String> expected = Files.readAllLines(golden, StandardCharsets.UTF_8);
        assertEquals(expected.size(), actual.size(), "rows in " + golden);
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = Fixtures.JSON.readTree(expected.get(i));
            JsonNode a = Fixtures.JSON.readTree(actual.get(i));
            assertEquals(e, a, () -> "line " + RuntimeVersions.current() + " differs from " + golden + " (made on spark-4)");
            // Scores to the last bit, not only to the printed digits.
            if (e.hasNonNull("score")) {
                assertEquals(Double.doubleToLongBits(e.get("score").asDouble()),
                        Double.doubleToLongBits(a.get("score").asDouble()), a.toString());
            }
        }
    }
}
