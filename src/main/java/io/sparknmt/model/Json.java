package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small JSON helpers shared by the readers of a model directory's files. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static JsonNode readTree(Path file) {
        try {
            return MAPPER.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read JSON: " + e.getMessage(), e);
        }
    }

    static int requiredInt(JsonNode n, String field, String file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new ModelFormatException(file + ": required field \"" + field + "\" is missing");
        }
        if (!v.canConvertToInt()) {
            throw new ModelFormatException(file + ": field \"" + field + "\" must be an integer, got " + v);
        }
        return v.asInt();
    }
}
