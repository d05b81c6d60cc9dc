package io.sparknmt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the golden fixtures written by tools/reference/make_fixtures.py. */
public final class Fixtures {
    private Fixtures() {
    }

    public static final ObjectMapper JSON = new ObjectMapper();

    public static List<JsonNode> jsonl(String name) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(TestPaths.fixtures().resolve(name), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    public static JsonNode json(String name) throws IOException {
        return JSON.readTree(TestPaths.fixtures().resolve(name).toFile());
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    public static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    public static Path file(String name) {
        return TestPaths.fixtures().resolve(name);
    }
}
