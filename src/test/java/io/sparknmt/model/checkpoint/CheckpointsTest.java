package io.sparknmt.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    @TempDir
    Path dir;

    @Test
    void formatPreferenceIsTransformers() throws IOException {
        new SafetensorsWriter().put("a", "F32", new int[]{1}, new float[]{1}).write(dir.resolve("model.safetensors"));
        new TorchWriter().put("a", "F32", new int[]{1}, new float[]{2}).writeZip(dir.resolve("pytorch_model.bin"));
        try (TensorSource s = Checkpoints.open(dir)) {
            assertEquals(1f, s.read("a", 1)[0]);
        }
        Files.delete(dir.resolve("model.safetensors"));
        try (TensorSource s = Checkpoints.open(dir)) {
            assertEquals(2f, s.read("a", 1)[0]);
        }
        Files.delete(dir.resolve("pytorch_model.bin"));
        String m = assertThrows(ModelFormatException.class, () -> Checkpoints.open(dir)).getMessage();
        assertTrue(m.contains("no weights found: tried model.safetensors, model.safetensors.index.json, pytorch_model.bin"), m);
    }

    @Test
    void brokenIndexFilesAreRefused() throws IOException {
        new SafetensorsWriter().put("a", "F32", new int[]{1}, new float[]{1}).write(dir.resolve("s1.safetensors"));
        Path idx = dir.resolve(Checkpoints.SAFETENSORS_INDEX);
        Files.writeString(idx, "{\"weight_map\":{\"a\":\"../../etc/passwd\"}}");
        assertTrue(assertThrows(ModelFormatException.class, () -> Checkpoints.open(dir)).getMessage()
                .contains("not a file name in the model directory"));
        Files.writeString(idx, "{\"weight_map\":{\"a\":\"s2.safetensors\"}}");
        assertTrue(assertThrows(ModelFormatException.class, () -> Checkpoints.open(dir)).getMessage()
                .contains("shard s2.safetensors is missing"));
        Files.writeString(idx, "{\"weight_map\":{\"b\":\"s1.safetensors\"}}");
        assertTrue(assertThrows(ModelFormatException.class, () -> Checkpoints.open(dir)).getMessage()
                .contains("tensor b is not in its shard s1.safetensors"));
        Files.writeString(idx, "[1]");
        assertTrue(assertThrows(ModelFormatException.class, () -> Checkpoints.open(dir)).getMessage()
                .contains("no \"weight_map\""));
        Files.writeString(idx, "{\"weight_map\":{\"a\":\"s1.safetensors\"}}");
        try (TensorSource s = Checkpoints.open(dir)) {
            assertEquals(1f, s.read("a", 1)[0]);
            assertEquals(idx, s.file());
        }
    }

    @Test
    void fetchOnlyTheFilesTheChosenFormatNeeds() {
        List<String> hub = List.of("README.md", "config.json", "generation_config.json", "pytorch_model.bin", "tf_model.h5",
                "rust_model.ot", "source.spm", "target.spm", "tokenizer_config.json", "vocab.json", "model.safetensors");
        assertEquals(List.of("config.json", "generation_config.json", "tokenizer_config.json", "vocab.json", "source.spm",
                "target.spm", "model.safetensors"), Checkpoints.filesToFetch(hub));
        assertEquals(List.of("config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                        "pytorch_model-00002-of-00002.bin"),
                Checkpoints.filesToFetch(List.of("config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                        "pytorch_model-00002-of-00002.bin", "flax_model.msgpack")));
        assertEquals(List.of("source.spm", "target.spm", "decoder.yml", "opus.npz", "opus.vocab.yml"),
                Checkpoints.filesToFetch(List.of("README.md", "decoder.yml", "opus.npz", "opus.vocab.yml", "source.spm",
                        "target.spm", "test.txt", "LICENSE")));
    }
}
