package io.sparknmt.spark;

import io.sparknmt.model.TokenIds;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;

/**
 * A batch of token id sequences as an Arrow {@code list<int32>} vector, allocated from the
 * task's child allocator (so it counts against --task-memory-mb): the unit the batch runner
 * hands to the engine, in the same column layout as the Arrow token files
 * ({@code --input-format arrow}). The encoder reads the ids where they are, through
 * {@link TokenIds}: row {@code r} is {@code data[offsets[r] .. offsets[r + 1])}.
 */
final class TokenBatch implements TokenIds, AutoCloseable {
    private final ListVector vector; // [rows] of list<int32>
    private final ArrowBuf offsets;  // [rows + 1] int32
    private final ArrowBuf data;     // [total ids] int32

    private TokenBatch(ListVector vector) {
        this.vector = vector;
        this.offsets = vector.getOffsetBuffer();
        this.data = ((IntVector) vector.getDataVector()).getDataBuffer();
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

    @Override
    public int size() {
        return vector.getValueCount();
    }

    @Override
    public int length(int row) {
        return start(row + 1) - start(row);
    }

    @Override
    public int id(int row, int position) {
        return data.getInt((long) (start(row) + position) * Integer.BYTES);
    }

    private int start(int row) {
        return offsets.getInt((long) row * ListVector.OFFSET_WIDTH);
    }

    @Override
    public void close() {
        vector.close();
    }
}
