package io.sparknmt.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Finds and opens the weights of a model directory, in transformers' order of preference:
 * {@code model.safetensors}, {@code model.safetensors.index.json} (shards),
 * {@code pytorch_model.bin}, {@code pytorch_model.bin.index.json} (shards), and finally one
 * Marian-native {@code *.npz} (mapped to the Hugging Face names as transformers'
 * convert_marian_to_pytorch.py maps them).
 */
public final class Checkpoints {
    public static final String SAFETENSORS = "model.safetensors";
    public static final String SAFETENSORS_INDEX = "model.safetensors.index.json";
    public static final String TORCH_BIN = "pytorch_model.bin";
    public static final String TORCH_BIN_INDEX = "pytorch_model.bin.index.json";

    /** Largest index file read. */
    static final long MAX_INDEX_BYTES = 64L * 1024 * 1024;

    private Checkpoints() {
    }

    /** Opens the directory's weights (see the class comment). */
    public static TensorSource open(Path modelDir) {
        List<Path> files = weightFiles(modelDir);
        Path first = files.get(0);
        String name = first.getFileName().toString();
        if (name.equals(SAFETENSORS_INDEX) || name.equals(TORCH_BIN_INDEX)) {
            return openSharded(first);
        }
        return openFile(first);
    }

    /** One weights file by its format: safetensors, a torch.save file or a Marian .npz. */
    public static TensorSource openFile(Path file) {
        String name = file.getFileName().toString();
        if (name.endsWith(".npz")) {
            return MarianNpz.openMapped(file);
        }
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")) {
            return TorchCheckpoint.open(file);
        }
        return Safetensors.open(file);
    }

    /**
     * The files that hold the weights, the one that decides the format first (an index file is
     * followed by its shards). These are the files a fingerprint or a fetch must cover.
     */
    public static List<Path> weightFiles(Path modelDir) {
        for (String n : List.of(SAFETENSORS, SAFETENSORS_INDEX, TORCH_BIN, TORCH_BIN_INDEX)) {
            Path p = modelDir.resolve(n);
            if (Files.isRegularFile(p)) {
                List<Path> out = new ArrayList<>();
                out.add(p);
                if (n.endsWith(".index.json")) {
                    for (String shard : new LinkedHashMap<>(readIndex(p)).values().stream().distinct().toList()) {
                        out.add(modelDir.resolve(shard));
                    }
                }
                return out;
            }
        }
        List<Path> npz;
        try (Stream<Path> s = Files.list(modelDir)) {
            npz = s.filter(p -> p.getFileName().toString().endsWith(".npz") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new ModelFormatException(modelDir + ": cannot list the model directory: " + e.getMessage(), e);
        }
        if (npz.size() == 1) {
            return List.of(npz.get(0));
        }
        if (npz.size() > 1) {
            throw new ModelFormatException(modelDir + ": no model.safetensors or pytorch_model.bin, and "
                    + npz.size() + " .npz files " + npz.stream().map(p -> p.getFileName().toString()).toList()
                    + ": which one is the model is ambiguous");
        }
        throw new ModelFormatException(modelDir + ": no weights found: tried " + SAFETENSORS + ", " + SAFETENSORS_INDEX
                + ", " + TORCH_BIN + ", " + TORCH_BIN_INDEX + " and a Marian *.npz");
    }

    /** The tokenizer and config files a model directory may have besides its weights. */
    public static final List<String> SMALL_FILES = List.of("config.json", "generation_config.json",
            "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "target_vocab.json", "source.spm", "target.spm");

    /**
     * Of a remote model directory's file names, those worth copying: the small files, the
     * weights in the one format that will be read (so tf_model.h5, rust_model.ot, flax_model.msgpack
     * or a second copy of the weights are not fetched), and for a Marian-native release its .npz,
     * .yml and SentencePiece files. Shards are fetched with their index (the index names them;
     * every shard-looking file of that format is taken, the index decides at load time).
     */
    public static List<String> filesToFetch(java.util.Collection<String> names) {
        java.util.Set<String> have = new java.util.TreeSet<>(names);
        List<String> out = new ArrayList<>();
        for (String n : SMALL_FILES) {
            if (have.contains(n)) {
                out.add(n);
            }
        }
        if (have.contains(SAFETENSORS)) {
            out.add(SAFETENSORS);
        } else if (have.contains(SAFETENSORS_INDEX)) {
            out.add(SAFETENSORS_INDEX);
            have.stream().filter(n -> n.endsWith(".safetensors")).forEach(out::add);
        } else if (have.contains(TORCH_BIN)) {
            out.add(TORCH_BIN);
        } else if (have.contains(TORCH_BIN_INDEX)) {
            out.add(TORCH_BIN_INDEX);
            have.stream().filter(n -> n.endsWith(".bin")).forEach(out::add);
        } else {
            have.stream().filter(n -> n.endsWith(".npz") || n.endsWith(".yml") || n.endsWith(".spm"))
                    .filter(n -> !out.contains(n)).forEach(out::add);
        }
        return out;
    }

    /** {@code weight_map} of an index file: tensor name -> shard file name (a plain name in the same directory). */
    static Map<String, String> readIndex(Path index) {
        JsonNode root;
        try {
            if (Files.size(index) > MAX_INDEX_BYTES) {
                throw new ModelFormatException(index + ": index file larger than " + MAX_INDEX_BYTES + " bytes");
            }
            root = new ObjectMapper().readTree(Files.readAllBytes(index));
        } catch (IOException e) {
            throw new ModelFormatException(index + ": cannot read the index JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new ModelFormatException(index + ": no \"weight_map\" object of tensor name -> shard file");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().isTextual() ? e.getValue().asText() : null;
            if (shard == null || shard.isEmpty() || shard.contains("/") || shard.contains("\\")
                    || shard.equals(".") || shard.equals("..")) {
                throw new ModelFormatException(index + ": tensor " + e.getKey() + " maps to " + e.getValue()
                        + ", not a file name in the model directory");
            }
            out.put(e.getKey(), shard);
        }
        return out;
    }

    static TensorSource openSharded(Path index) {
        Map<String, String> map = readIndex(index);
        Path dir = index.getParent();
        Map<String, TensorSource> shards = new LinkedHashMap<>();
        try {
            for (String shard : map.values()) {
                if (!shards.containsKey(shard)) {
                    Path f = dir.resolve(shard);
                    if (!Files.isRegularFile(f)) {
                        throw new ModelFormatException(index + ": shard " + shard + " is missing");
                    }
                    shards.put(shard, openFile(f));
                }
            }
            return new ShardedSource(index, map, shards);
        } catch (RuntimeException e) {
            shards.values().forEach(TensorSource::close);
            throw e;
        }
    }
}
