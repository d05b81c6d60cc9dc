package io.sparknmt.model;

/**
 * Everything that changes while decoding one batch: the self-attention KV cache, the
 * cross-attention keys/values (computed once per sentence), the mapping from hypothesis rows to
 * sentences, and the step's scratch. Allocated once per batch shape and mutated in place; search
 * strategies only reorder it ({@link #reorderRows}).
 *
 * <p>Row layout: hypothesis row {@code r} decodes sentence {@code sentenceOf[r]}; beams of a
 * sentence share its cross-attention keys.
 */
public final class DecoderState {
    final int d;
    final int srcLen;
    final int[] srcLengths;     // [batch]
    final float[][] encK;       // per layer [batch, srcLen, d]
    final float[][] encV;
    float[][] cacheK;           // per layer [rowCapacity, timeCapacity, d]
    float[][] cacheV;
    private float[][] spareK;   // reorder target, same shape: swapped with cacheK
    private float[][] spareV;
    int[] sentenceOf;           // [rowCapacity]
    private int[] spareSentenceOf;
    private int rows;
    private final int rowCapacity;
    private int timeCapacity;
    private int steps;          // positions written so far

    // step scratch, [rowCapacity, ...]
    final MultiHeadAttention.Scratch scratch;
    final float[] x;            // [rows, d] the step's hidden state
    final float[] tmp;          // [rows, d]
    final float[] hidden;       // [rows, ffn]
    final float[] logits;       // [rows, V]

    DecoderState(int layers, int d, int ffn, int vocab, EncoderOutput enc, int rowCapacity, int initialTime) {
        this.d = d;
        this.srcLen = enc.srcLen();
        this.srcLengths = enc.lengths().clone();
        this.encK = new float[layers][];
        this.encV = new float[layers][];
        this.rowCapacity = rowCapacity;
        this.timeCapacity = Math.max(1, initialTime);
        this.cacheK = new float[layers][rowCapacity * timeCapacity * d];
        this.cacheV = new float[layers][rowCapacity * timeCapacity * d];
        this.spareK = new float[layers][rowCapacity * timeCapacity * d];
        this.spareV = new float[layers][rowCapacity * timeCapacity * d];
        this.sentenceOf = new int[rowCapacity];
        this.spareSentenceOf = new int[rowCapacity];
        this.scratch = new MultiHeadAttention.Scratch(rowCapacity, d);
        this.x = new float[rowCapacity * d];
        this.tmp = new float[rowCapacity * d];
        this.hidden = new float[rowCapacity * ffn];
        this.logits = new float[rowCapacity * vocab];
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

    /** [rows, V] logits of the last step. */
    public float[] logits() {
        return logits;
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

    /** Makes room for position {@code t}, doubling the time capacity when needed (amortised). */
    void ensureTime(int t) {
        if (t < timeCapacity) {
            return;
        }
        int newCap = Math.max(t + 1, timeCapacity * 2);
        for (int l = 0; l < cacheK.length; l++) {
            cacheK[l] = regrow(cacheK[l], newCap);
            cacheV[l] = regrow(cacheV[l], newCap);
            spareK[l] = new float[rowCapacity * newCap * d];
            spareV[l] = new float[rowCapacity * newCap * d];
        }
        timeCapacity = newCap;
    }

    private float[] regrow(float[] old, int newCap) {
        float[] grown = new float[rowCapacity * newCap * d];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(old, r * timeCapacity * d, grown, r * newCap * d, steps * d);
        }
        return grown;
    }

    void advance() {
        steps++;
    }

    /**
     * Keeps rows {@code source[0..n)} in that order: new row {@code i} takes old row
     * {@code source[i]}'s cache and sentence. Used by beam search (reorder by beam origin) and
     * to drop finished hypotheses from the active batch ({@code n < rows}).
     */
    public void reorderRows(int[] source, int n) {
        int span = steps * d;
        int stride = timeCapacity * d;
        for (int l = 0; l < cacheK.length; l++) {
            float[] k = cacheK[l];
            float[] v = cacheV[l];
            float[] nk = spareK[l];
            float[] nv = spareV[l];
            for (int i = 0; i < n; i++) {
                System.arraycopy(k, source[i] * stride, nk, i * stride, span);
                System.arraycopy(v, source[i] * stride, nv, i * stride, span);
            }
            spareK[l] = k;
            spareV[l] = v;
            cacheK[l] = nk;
            cacheV[l] = nv;
        }
        int[] newSent = spareSentenceOf;
        for (int i = 0; i < n; i++) {
            newSent[i] = sentenceOf[source[i]];
        }
        spareSentenceOf = sentenceOf;
        sentenceOf = newSent;
        rows = n;
    }
}
