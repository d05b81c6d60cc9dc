package io.sparknmt.spark;

import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;

/**
 * A batch of token id sequences as an Arrow {@code list<int32>} vector, allocated from the
 * task's child allocator. This is the unit the partition function hands to the engine, and the
 * same column layout as the Arrow token files ({@code --input-format arrow}).
 */
final class TokenBatch implements AutoCloseable {
    private final ListVector vector; // [rows] of list<int32>

    private TokenBatch(ListVector vector) {
        this.vector = vector;
    }

    /** Copies {@code sequences} into a new vector owned by {@code allocator}. */
    static TokenBatch of(BufferAllocator allocator, List<int[]> sequences) {
        ListVector v = ListVector.empty("tokens", allocator);
        try {
            UnionListWriter w = v.getWriter();
            for (int i = 0; i < sequences.size(); i++) {
                w.setPosition(i);
                w.startList();
                for (int id : sequences.get(i)) {
                    w.writeInt(id);
                }
                w.endList();
            }
            v.setValueCount(sequences.size());
            return new TokenBatch(v);
        } catch (RuntimeException e) {
            v.close();
            throw e;
        }
    }

    /** Wraps a vector read from an Arrow file; the batch takes ownership. */
    static TokenBatch wrap(ListVector v) {
        return new TokenBatch(v);
    }

    int size() {
        return vector.getValueCount();
    }

    boolean isNull(int i) {
        return vector.isNull(i);
    }

    /** The ids of row {@code i}. */
    int[] row(int i) {
        IntVector data = (IntVector) vector.getDataVector();
        int start = vector.getElementStartIndex(i);
        int end = vector.getElementEndIndex(i);
        int[] out = new int[end - start];
        for (int j = start; j < end; j++) {
            out[j - start] = data.get(j);
        }
        return out;
    }

    /** All rows as arrays, the engine's input. */
    int[][] toArrays() {
        int[][] out = new int[size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = row(i);
        }
        return out;
    }

    @Override
    public void close() {
        vector.close();
    }
}
