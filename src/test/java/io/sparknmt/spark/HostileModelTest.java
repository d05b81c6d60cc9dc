package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model directory that is wrong in one file fails on the driver, at load ({@link TranslateJob#loadModel}), with a
 * {@link ModelFormatException} (exit 3) naming the file, in bounded time and memory: not in every
 * executor task, and not with a giant allocation.
 */
class HostileModelTest {
    @TempDir
    Path dir;

    private Path copyOfSampleModel() throws IOException {
        return TestPaths.copySampleModel(dir.resolve("model"));
    }

    private static void assertLoadFails(Path m, String... mentions) {
        ModelFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(ModelFormatException.class, () -> TranslateJob.loadModel(m)));
        for (String part : mentions) {
            assertTrue(e.getMessage().contains(part), () -> "\"" + e.getMessage() + "\" should mention " + part);
        }
    }

    @Test
    void corruptSentencePieceModelIsAModelErrorNamingTheFile() throws IOException {
        Path m = copyOfSampleModel();
        Files.write(m.resolve("target.spm"), "not a sentencepiece model".getBytes(StandardCharsets.UTF_8));
        assertLoadFails(m, m.resolve("target.spm").toString(), "not a SentencePiece model");
    }

    @Test
    void vocabularyWithoutEndOfSentenceIsAModelError() throws IOException {
        Path m = copyOfSampleModel();
        Path vocab = m.resolve("vocab.json");
        String json = Files.readString(vocab);
        assertTrue(json.contains("\"</s>\": 0, "), "the sample vocabulary starts with </s>");
        Files.writeString(vocab, json.replace("\"</s>\": 0, ", ""));
        assertLoadFails(m, "vocab.json", "</s>");
    }

    @Test
    void hugeMaxPositionEmbeddingsIsRefusedBeforeAnyTable() throws IOException {
        Path m = copyOfSampleModel();
        Path config = m.resolve("config.json");
        String json = Files.readString(config);
        assertTrue(json.contains("\"max_position_embeddings\": 512"));
        Files.writeString(config, json.replace("\"max_position_embeddings\": 512", "\"max_position_embeddings\": 2000000000"));
        assertLoadFails(m, "config.json", "max_position_embeddings 2000000000");
    }
}
