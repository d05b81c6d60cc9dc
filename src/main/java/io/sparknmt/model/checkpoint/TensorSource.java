package io.sparknmt.model.checkpoint;

import java.nio.file.Path;
import java.util.Set;

/**
 * Named float tensors of a checkpoint, whatever its file format, under their Hugging Face Marian
 * state-dict names. Data is read lazily by {@link #read}; every failure is a
 * {@link io.sparknmt.model.ModelFormatException} that names the file and the tensor.
 */
public interface TensorSource extends AutoCloseable {

    /** The file (or index file) the tensors come from, for messages. */
    Path file();

    /** Every tensor name the checkpoint holds. */
    Set<String> names();

    default boolean has(String name) {
        return names().contains(name);
    }

    /** Reads a tensor as float32 in row-major order, checking its shape against {@code expectedShape}. */
    float[] read(String name, int... expectedShape);

    @Override
    void close();
}
