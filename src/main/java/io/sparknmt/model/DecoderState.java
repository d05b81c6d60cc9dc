package io.sparknmt.model;

import io.sparknmt.kernel.FloatArrays;
import io.sparknmt.kernel.MemoryAccount;
import io.sparknmt.kernel.OffHeapFloats;
import io.sparknmt.kernel.PackedWeight;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Everything that changes while decoding a batch: the self-attention KV cache, the
 * cross-attention keys/values (computed once per batch), the mapping from hypothesis rows to
 * sentences, and the step's activations. Owned by a {@link Workspace}: allocated for the first
 * batch, grown when a larger batch shape comes, reused for every later batch, and freed when the
 * workspace is closed. Search strategies only reorder it ({@link #reorderRows}).
 *
 * <p>The caches are off-heap ({@link OffHeapFloats}), head-major so that one head's keys are
 * contiguous: self-attention {@code [row][head][time][headDim]} per layer, cross-attention
 * {@code [sentence][head][srcLen][headDim]} per layer. The step's activation rows ({@code x},
 * logits, FFN hidden) are heap arrays, read and written by the vector kernels.
 *
 * <p>Row layout: hypothesis row {@code r} decodes sentence {@code sentenceOf[r]}; beams of a
 * sentence share its cross-attention keys.
 *
 * <p>The attention layers see one layer's caches through {@link #layer(int)}, a
 * {@link LayerCache}; they do not read this class's fields. Every off-heap block is counted
 * against the workspace's {@link MemoryAccount} before it is allocated.
 */
public final class DecoderState implements AutoCloseable {
    final int layers;
    final int d;
    final int heads;
    final int headDim;
    final int ffn;
    final int vocab;

    int srcLen;
    int[] srcLengths = new int[0];     // [batch]
    final OffHeapFloats[] encK;        // per layer [batch][head][srcLen][headDim]
    final OffHeapFloats[] encV;
    final OffHeapFloats[] cacheK;      // per layer [rowCapacity][head][timeCapacity][headDim]
    final OffHeapFloats[] cacheV;
    private OffHeapFloats tempRow;     // one row of one layer's cache: the in-place reorder's spare
    int[] sentenceOf = new int[0];     // [rowCapacity]
    private int[] spareSentenceOf = new int[0];
    private int rows;
    private int rowCapacity;
    private int timeCapacity;
    private int steps;                 // positions written so far
    private final MemoryAccount account;
    private final LayerCache[] layerViews;

    // the step's activations, [rowCapacity, ...], heap
    final MultiHeadAttention.Scratch scratch;
    float[] x = new float[0];          // [rows, d] the step's hidden state
    float[] tmp = new float[0];        // [rows, d]
    float[] hidden = new float[0];     // [rows, ffn]
    float[] logits = new float[0];     // [rows, V]
    // the output layer of this batch: the model's (weight null) or a shortlist's rows of lm_head
    private LogitsView output;
    PackedWeight outputWeight;
    float[] outputBias;

    // the in-place reorder's plan, reused
    private int[] pending = new int[0];
    private boolean[] done = new boolean[0];
    private int[] stack = new int[0];
    private int[] opDst = new int[0];
    private int[] opSrc = new int[0];

    DecoderState(int layers, int d, int heads, int ffn, int vocab, MultiHeadAttention.Scratch scratch) {
        this(layers, d, heads, ffn, vocab, scratch, MemoryAccount.UNLIMITED);
    }

    DecoderState(int layers, int d, int heads, int ffn, int vocab, MultiHeadAttention.Scratch scratch,
                 MemoryAccount account) {
        this.account = account;
        this.layerViews = new LayerCache[layers];
        for (int l = 0; l < layers; l++) {
            layerViews[l] = new LayerCache(l);
        }
        this.layers = layers;
        this.d = d;
        this.heads = heads;
        this.headDim = d / heads;
        this.ffn = ffn;
        this.vocab = vocab;
        this.scratch = scratch;
        this.encK = new OffHeapFloats[layers];
        this.encV = new OffHeapFloats[layers];
        this.cacheK = new OffHeapFloats[layers];
        this.cacheV = new OffHeapFloats[layers];
    }

    /** Prepares for a batch of {@code rowCapacity} rows over {@code enc}, growing what is too small. */
    void reset(EncoderOutput enc, int rowCapacity, int initialTime) {
        this.srcLen = enc.srcLen();
        int batch = enc.batch();
        if (srcLengths.length != batch) {
            srcLengths = new int[batch];
        }
        System.arraycopy(enc.lengths(), 0, srcLengths, 0, batch);
        this.rowCapacity = rowCapacity;
        this.timeCapacity = Math.max(1, initialTime);
        long cache = (long) rowCapacity * timeCapacity * d;
        long cross = (long) batch * srcLen * d;
        for (int l = 0; l < layers; l++) {
            cacheK[l] = grow(cacheK[l], cache, "self-attention keys of decoder layer " + l);
            cacheV[l] = grow(cacheV[l], cache, "self-attention values of decoder layer " + l);
            encK[l] = grow(encK[l], cross, "cross-attention keys of decoder layer " + l);
            encV[l] = grow(encV[l], cross, "cross-attention values of decoder layer " + l);
        }
        tempRow = grow(tempRow, (long) timeCapacity * d, "KV cache reorder row");
        if (sentenceOf.length < rowCapacity) {
            sentenceOf = new int[rowCapacity];
            spareSentenceOf = new int[rowCapacity];
            pending = new int[rowCapacity];
            done = new boolean[rowCapacity];
            stack = new int[rowCapacity];
            opDst = new int[2 * rowCapacity];
            opSrc = new int[2 * rowCapacity];
        }
        scratch.ensure(rowCapacity, d);
        x = FloatArrays.ensure(x, rowCapacity * d);
        tmp = FloatArrays.ensure(tmp, rowCapacity * d);
        hidden = FloatArrays.ensure(hidden, Math.multiplyExact(rowCapacity, ffn));
        logits = FloatArrays.ensure(logits, Math.multiplyExact(rowCapacity, vocab));
        rows = 0;
        steps = 0;
    }

    /**
     * Grows off-heap blocks by at least a quarter, so that slowly growing batch shapes do not
     * reallocate each time; only to the size asked for where the account has no room for more.
     */
    private OffHeapFloats grow(OffHeapFloats block, long floats, String what) {
        if (block != null && block.isOpen() && block.capacity() >= floats) {
            return block;
        }
        long target = block == null ? floats : Math.max(floats, Math.min(OffHeapFloats.MAX_FLOATS,
                block.capacity() + block.capacity() / 4L));
        long freed = block != null && block.isOpen() ? (long) block.capacity() * Float.BYTES : 0;
        if (target > floats && target * Float.BYTES > account.available() + freed) {
            target = floats;
        }
        return OffHeapFloats.ensure(block, target, what, account);
    }

    public int rows() {
        return rows;
    }

    public int steps() {
        return steps;
    }

    int timeCapacity() {
        return timeCapacity;
    }

    void setOutput(LogitsView view, PackedWeight weight, float[] bias) {
        this.output = view;
        this.outputWeight = weight;
        this.outputBias = bias;
    }

    /**
     * The output layer of this batch: a logits row has {@code output().width()} columns. The
     * model's whole vocabulary, or with a {@link Shortlist} the batch's candidates.
     */
    public LogitsView output() {
        return output;
    }

    /** [rows, V] logits of the last step. */
    public float[] logits() {
        return logits;
    }

    /** Off-heap bytes held by the caches. */
    public long offHeapBytes() {
        long floats = 0;
        for (OffHeapFloats b : blocks()) {
            floats += b.capacity();
        }
        return floats * Float.BYTES;
    }

    /** Every open off-heap block: the caches of each layer and the spare row. */
    private java.util.List<OffHeapFloats> blocks() {
        java.util.List<OffHeapFloats> all = new java.util.ArrayList<>();
        for (OffHeapFloats[] perLayer : new OffHeapFloats[][]{cacheK, cacheV, encK, encV}) {
            for (OffHeapFloats b : perLayer) {
                if (b != null && b.isOpen()) {
                    all.add(b);
                }
            }
        }
        if (tempRow != null && tempRow.isOpen()) {
            all.add(tempRow);
        }
        return all;
    }

    /** Offset of row {@code r}, head {@code h}, position 0 in a layer's self-attention cache. */
    int cacheOffset(int r, int h) {
        return (r * heads + h) * timeCapacity * headDim;
    }

    /** Offset of sentence {@code b}, head {@code h}, position 0 in a layer's cross-attention keys. */
    int crossOffset(int b, int h) {
        return (b * heads + h) * srcLen * headDim;
    }

    /** Sets the initial rows: row r decodes sentence {@code sentences[r]}. */
    void initRows(int[] sentences) {
        if (sentences.length > rowCapacity) {
            throw new IllegalArgumentException(sentences.length + " rows exceed the capacity " + rowCapacity);
        }
        System.arraycopy(sentences, 0, sentenceOf, 0, sentences.length);
        rows = sentences.length;
        steps = 0;
    }

    /**
     * Makes room for position {@code t}, doubling the time capacity when needed (amortised). The
     * grown caches hold the rows still active, not the batch's first row count: rows only drop out
     * of a batch (finished sentences), so a batch whose last open beams run long (a loop that only
     * max length ends) does not carry a cache sized for every row it started with.
     */
    void ensureTime(int t) {
        if (t < timeCapacity) {
            return;
        }
        int newCap = Math.max(t + 1, timeCapacity * 2);
        rowCapacity = Math.max(rows, 1);
        long floats = (long) rowCapacity * newCap * d;
        for (int l = 0; l < layers; l++) {
            cacheK[l] = relayout(cacheK[l], floats, newCap, "self-attention keys of decoder layer " + l);
            cacheV[l] = relayout(cacheV[l], floats, newCap, "self-attention values of decoder layer " + l);
        }
        tempRow = OffHeapFloats.ensure(tempRow, (long) newCap * d, "KV cache reorder row", account);
        timeCapacity = newCap;
    }

    private OffHeapFloats relayout(OffHeapFloats old, long floats, int newCap, String what) {
        OffHeapFloats grown = new OffHeapFloats(floats, what, account);
        FloatBuffer src = old.buffer();
        FloatBuffer dst = grown.buffer();
        int span = steps * headDim;
        for (int p = 0; p < rows * heads; p++) {
            dst.put(p * newCap * headDim, src, p * timeCapacity * headDim, span);
        }
        old.close();
        return grown;
    }

    void advance() {
        steps++;
    }

    /**
     * Keeps rows {@code source[0..n)} in that order: new row {@code i} takes old row
     * {@code source[i]}'s cache and sentence. Used by beam search (reorder by beam origin) and
     * to drop finished hypotheses from the active batch ({@code n < rows}). The caches are
     * permuted in place, with one spare row for cycles, in the order that reads every row before
     * it is overwritten.
     */
    public void reorderRows(int[] source, int n) {
        if (n > rows) {
            throw new IllegalArgumentException(n + " rows requested, " + rows + " active");
        }
        for (int i = 0; i < n; i++) {
            if (source[i] < 0 || source[i] >= rows) {
                throw new IllegalArgumentException("row " + i + " takes row " + source[i] + " of " + rows);
            }
        }
        int ops = planReorder(source, n);
        int span = steps * headDim;
        for (int l = 0; l < layers; l++) {
            applyReorder(cacheK[l].buffer(), ops, span);
            applyReorder(cacheV[l].buffer(), ops, span);
        }
        int[] newSent = spareSentenceOf;
        for (int i = 0; i < n; i++) {
            newSent[i] = sentenceOf[source[i]];
        }
        spareSentenceOf = sentenceOf;
        sentenceOf = newSent;
        rows = n;
    }

    /**
     * Orders the row copies {@code i <- source[i]} so that no row is overwritten before all its
     * readers have read it: rows nobody reads first, then up the trees of readers, and each
     * remaining cycle broken by saving one row to the spare row ({@code -1} in the plan).
     */
    private int planReorder(int[] source, int n) {
        Arrays.fill(pending, 0, rows, 0);
        Arrays.fill(done, 0, rows, false);
        for (int i = 0; i < n; i++) {
            if (source[i] != i) {
                pending[source[i]]++;
            } else {
                done[i] = true; // stays where it is
            }
        }
        for (int i = n; i < rows; i++) {
            done[i] = true; // dropped: never written
        }
        int ops = 0;
        int top = 0;
        for (int i = 0; i < n; i++) {
            if (!done[i] && pending[i] == 0) {
                stack[top++] = i;
            }
        }
        int saved = -1; // the row whose old content is in the spare row
        for (int c = 0; ; c++) {
            while (top > 0) {
                int i = stack[--top];
                int src = source[i];
                opDst[ops] = i;
                opSrc[ops++] = src == saved && done[src] ? -1 : src;
                done[i] = true;
                if (--pending[src] == 0 && !done[src]) {
                    stack[top++] = src;
                }
            }
            while (c < n && done[c]) {
                c++;
            }
            if (c >= n) {
                return ops;
            }
            // c is on a cycle: its only unread reader is its predecessor on the cycle
            opDst[ops] = -1;
            opSrc[ops++] = c;
            saved = c;
            pending[c] = 0;
            stack[top++] = c;
            c--;
        }
    }

    private void applyReorder(FloatBuffer cache, int ops, int span) {
        FloatBuffer spare = tempRow.buffer();
        for (int o = 0; o < ops; o++) {
            int dst = opDst[o];
            int src = opSrc[o];
            for (int h = 0; h < heads; h++) {
                int hOff = h * timeCapacity * headDim;
                if (dst < 0) {
                    spare.put(hOff, cache, cacheOffset(src, h), span);
                } else if (src < 0) {
                    cache.put(cacheOffset(dst, h), spare, hOff, span);
                } else {
                    cache.put(cacheOffset(dst, h), cache, cacheOffset(src, h), span);
                }
            }
        }
    }

    /** Layer {@code l}'s caches as its attention sees them. */
    LayerCache layer(int l) {
        return layerViews[l];
    }

    /**
     * One decoder layer's view of the state: its self-attention cache (written at the current
     * position, read up to it) and its cross-attention keys/values, with the row -> sentence map
     * and the source lengths. Reads through to the state, so it stays valid when the caches grow.
     */
    final class LayerCache {
        private final int layer;

        private LayerCache(int layer) {
            this.layer = layer;
        }

        /** Self-attention keys, {@code [rowCapacity][head][timeCapacity][headDim]}. */
        FloatBuffer selfKeys() {
            return cacheK[layer].buffer();
        }

        FloatBuffer selfValues() {
            return cacheV[layer].buffer();
        }

        /** Offset of row {@code r}, head {@code h}, position 0 in the self-attention cache. */
        int selfOffset(int r, int h) {
            return cacheOffset(r, h);
        }

        /** Cross-attention keys, {@code [sentence][head][srcLen][headDim]}. */
        FloatBuffer crossKeys() {
            return encK[layer].buffer();
        }

        FloatBuffer crossValues() {
            return encV[layer].buffer();
        }

        /** Offset of sentence {@code b}, head {@code h}, position 0 in the cross-attention keys. */
        int crossOffset(int b, int h) {
            return DecoderState.this.crossOffset(b, h);
        }

        /** The sentence hypothesis row {@code r} decodes. */
        int sentenceOf(int r) {
            return sentenceOf[r];
        }

        /** Real source length of sentence {@code b}. */
        int sourceLength(int b) {
            return srcLengths[b];
        }
    }

    /** Frees the off-heap caches; the state cannot be used after. */
    @Override
    public void close() {
        for (OffHeapFloats b : blocks()) {
            b.close();
        }
    }
}
