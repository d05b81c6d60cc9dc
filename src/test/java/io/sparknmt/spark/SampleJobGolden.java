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
            ObjectNode e = (ObjectNode) Fixtures.JSON.readTree(expected.get(i));
            ObjectNode a = (ObjectNode) Fixtures.JSON.readTree(actual.get(i));
            // Every field exactly but the score: its last bits depend on the CPU's vector width (the
            // kernels' sums run lane by lane: AVX-512 and AVX2 machines differ by ~1e-6), so it is
            // compared within 1e-5, far below any change of decoding (parity tests allow 1e-4).
            JsonNode es = e.remove("score");
            JsonNode as = a.remove("score");
            assertEquals(e, a, () -> "line " + RuntimeVersions.current() + " differs from " + golden + " (made on spark-4)");
            assertEquals(es == null || es.isNull(), as == null || as.isNull(), "score present in " + a);
            if (es != null && !es.isNull()) {
                assertEquals(es.asDouble(), as.asDouble(), 1e-5, "score of " + a);
            }
        }
    }
}
