package io.sparknmt.model;

import io.sparknmt.kernel.MemoryAccount;

/**
 * The working memory of one translating thread (in Spark: one task), allocated for the first
 * batch, grown when a batch needs more, reused for every later batch, and freed by
 * {@link #close()}: the encoder's activations and attention scratch (heap arrays, read by the
 * vector kernels) and the {@link DecoderState} with its off-heap KV caches. A batch therefore
 * allocates nothing proportional to its size once the workspace has seen its shape.
 *
 * <p>Not thread-safe. One workspace serves one model at a time; the results of
 * {@link MarianModel#encode(int[][], Workspace)} are valid until the next encode on it.
 */
public final class Workspace implements AutoCloseable {
    private final MemoryAccount account;
    final MultiHeadAttention.Scratch scratch = new MultiHeadAttention.Scratch();
    float[] encX = new float[0];      // [batch * srcLen, d], the encoder output
    float[] encTmp = new float[0];
    float[] encHidden = new float[0];
    private DecoderState decoder;
    private MarianConfig owner;
    private boolean closed;

    /** A workspace whose off-heap memory is not limited (beyond the JVM's direct memory). */
    public Workspace() {
        this(MemoryAccount.UNLIMITED);
    }

    /**
     * A workspace whose off-heap blocks are counted against {@code account}: a batch whose caches
     * would pass its limit fails with {@link io.sparknmt.kernel.MemoryBudgetExceededException}
     * before anything is allocated, and the workspace stays usable (after {@link #release()}).
     */
    public Workspace(MemoryAccount account) {
        this.account = account;
    }

    /** The decoder state, created for {@code model}'s shapes on first use. */
    DecoderState decoderState(MarianConfig c) {
        check(c);
        if (decoder == null) {
            decoder = new DecoderState(c.decoderLayers(), c.dModel(), c.decoderHeads(), c.decoderFfn(),
                    c.decoderVocabSize(), scratch, account);
        }
        return decoder;
    }

    void check(MarianConfig c) {
        if (closed) {
            throw new IllegalStateException("workspace used after close");
        }
        if (owner == null) {
            owner = c;
        } else if (owner != c) {
            throw new IllegalStateException("a workspace serves one model; this one was sized for another");
        }
    }

    /** Off-heap bytes held (the decoder's caches). */
    public long offHeapBytes() {
        return decoder == null ? 0 : decoder.offHeapBytes();
    }

    /** Heap floats held by activations and scratch. */
    public long heapFloats() {
        long n = (long) encX.length + encTmp.length + encHidden.length + scratch.q.length + scratch.k.length
                + scratch.v.length + scratch.context.length + scratch.attentionFloats();
        if (decoder != null) {
            n += (long) decoder.x.length + decoder.tmp.length + decoder.hidden.length + decoder.logits.length;
        }
        return n;
    }

    /**
     * Frees the off-heap caches now but keeps the workspace usable: the next batch allocates
     * them again at its own size. For recovery after an allocation failed.
     */
    public void release() {
        if (decoder != null) {
            decoder.close();
            decoder = null;
        }
    }

    /** Frees the off-heap memory at once; the heap arrays go with the workspace. */
    @Override
    public void close() {
        closed = true;
        release();
    }
}
