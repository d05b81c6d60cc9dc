package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint split over several files by an index ({@code *.index.json}'s {@code weight_map}):
 * each tensor is read from the shard the index names, and must be there.
 */
final class ShardedSource implements TensorSource {
    private final Path index;
    private final Map<String, TensorSource> byTensor = new LinkedHashMap<>();
    private final Map<String, TensorSource> shards;

    ShardedSource(Path index, Map<String, String> weightMap, Map<String, TensorSource> shards) {
        this.index = index;
        this.shards = shards;
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            TensorSource s = shards.get(e.getValue());
            if (!s.has(e.getKey())) {
                throw new ModelFormatException(index + ": tensor " + e.getKey() + " is not in its shard " + e.getValue());
            }
            byTensor.put(e.getKey(), s);
        }
    }

    @Override
    public Path file() {
        return index;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(byTensor.keySet());
    }

    @Override
    public float[] read(String name, int... expectedShape) {
        TensorSource s = byTensor.get(name);
        if (s == null) {
            throw new ModelFormatException(index + ": missing tensor " + name);
        }
        return s.read(name, expectedShape);
    }

    @Override
    public void close() {
        shards.values().forEach(TensorSource::close);
    }
}
