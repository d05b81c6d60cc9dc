package io.sparknmt.model;

import static io.sparknmt.model.TensorNames.*;

import io.sparknmt.kernel.FloatArrays;
import io.sparknmt.kernel.Kernels;
import io.sparknmt.kernel.PackedWeight;
import io.sparknmt.kernel.WeightFormat;
import java.util.IdentityHashMap;

/**
 * The Marian encoder-decoder, built once from {@link MarianWeights} with weights packed for the
 * active {@link Kernels}. Immutable and thread-safe: all mutable state lives in a
 * {@link Workspace} (activations, scratch) and its {@link DecoderState} (KV caches).
 */
public final class MarianModel implements TranslationModel {
    private final MarianConfig config;
    private final SpecialIds specialIds;
    private final LogitsView output;
    private final Kernels kernels;
    private final WeightFormat format;
    // Embedding rows [V, d]: the packed lm_head itself where the checkpoint ties them (one
    // resident copy of the vocabulary matrix), else the table as stored (panel 0: row-major).
    private final PackedWeight encEmbed;
    private final PackedWeight decEmbed;
    private final PositionTable encPos; // [maxPositions, d], rows built as inputs reach them
    private final PositionTable decPos; // [maxPositions, d]
    private final float embedScale;
    private final EncoderLayer[] encoder;
    private final DecoderLayer[] decoder;
    private final Linear lmHead;      // [V_tgt, d] + final_logits_bias
    private final Shortlist shortlist; // or null: every batch scores the whole vocabulary
    /** Every array the model holds, once each: its resident size ({@link #residentBytes}). */
    private final IdentityHashMap<Object, Long> resident = new IdentityHashMap<>();

    public MarianModel(MarianWeights w, Kernels kernels) {
        this(w, kernels, WeightFormat.FLOAT);
    }

    /**
     * Builds the model with every linear weight (lm_head included) kept in {@code format}; with
     * {@link WeightFormat#INT8} a tied embedding's lookups read the dequantized rows of the int8
     * lm_head (one copy), an untied table stays float.
     */
    public MarianModel(MarianWeights w, Kernels kernels, WeightFormat format) {
        this(w, kernels, format, null);
    }

    /**
     * As {@link #MarianModel(MarianWeights, Kernels, WeightFormat)}; with a {@code shortlist}, each
     * batch's decoder scores only the candidates of its source tokens ({@link Shortlist}).
     */
    public MarianModel(MarianWeights w, Kernels kernels, WeightFormat format, Shortlist shortlist) {
        this.format = format;
        if (shortlist != null && shortlist.targetVocab() != w.config().decoderVocabSize()) {
            throw new IllegalArgumentException("shortlist over " + shortlist.targetVocab()
                    + " target ids, the model has " + w.config().decoderVocabSize());
        }
        this.shortlist = shortlist;
        this.config = w.config();
        this.kernels = kernels;
        MarianConfig c = config;
        int d = c.dModel();
        float[] lmHeadSource = w.get(LM_HEAD);
        this.lmHead = track(new Linear(kernels, lmHeadSource, c.decoderVocabSize(), d, w.get(FINAL_LOGITS_BIAS), format));
        this.encEmbed = embeddingRows(w.get(ENCODER_EMBED), lmHeadSource, c.vocabSize(), d);
        this.decEmbed = embeddingRows(w.get(DECODER_EMBED), lmHeadSource, c.decoderVocabSize(), d);
        this.encPos = track(w.positions(ENCODER_POSITIONS)); // lazily built sinusoids are not counted as resident
        this.decPos = track(w.positions(DECODER_POSITIONS));
        this.embedScale = c.scaleEmbedding() ? (float) Math.sqrt(d) : 1f;
        this.encoder = new EncoderLayer[c.encoderLayers()];
        for (int n = 0; n < encoder.length; n++) {
            String p = layer(false, n);
            encoder[n] = new EncoderLayer(
                    attention(w, p + SELF_ATTN, c.encoderHeads()), norm(w, p + SELF_ATTN_LN),
                    feedForward(w, p, c.encoderFfn()), norm(w, p + FINAL_LN));
        }
        this.decoder = new DecoderLayer[c.decoderLayers()];
        for (int n = 0; n < decoder.length; n++) {
            String p = layer(true, n);
            decoder[n] = new DecoderLayer(
                    attention(w, p + SELF_ATTN, c.decoderHeads()), norm(w, p + SELF_ATTN_LN),
                    attention(w, p + CROSS_ATTN, c.decoderHeads()), norm(w, p + CROSS_ATTN_LN),
                    feedForward(w, p, c.decoderFfn()), norm(w, p + FINAL_LN));
        }
        this.specialIds = new SpecialIds(c.padId(), c.eosId(), c.decoderStartId());
        // the whole target vocabulary; with a shortlist, each decoder state has its batch's view
        this.output = LogitsView.full(c.decoderVocabSize());
    }

    private MultiHeadAttention attention(MarianWeights w, String prefix, int heads) {
        return new MultiHeadAttention(kernels, linear(w, prefix + Q_PROJ), linear(w, prefix + K_PROJ),
                linear(w, prefix + V_PROJ), linear(w, prefix + OUT_PROJ), heads);
    }

    private FeedForward feedForward(MarianWeights w, String prefix, int ffn) {
        return new FeedForward(kernels, linear(w, prefix + FC1), linear(w, prefix + FC2), config.activation());
    }

    private Linear linear(MarianWeights w, String prefix) {
        float[] bias = w.get(prefix + BIAS);
        float[] weight = w.get(prefix + WEIGHT);
        return track(new Linear(kernels, weight, bias.length, weight.length / bias.length, bias, format));
    }

    private LayerNorm norm(MarianWeights w, String prefix) {
        return new LayerNorm(track(w.get(prefix + WEIGHT)), track(w.get(prefix + BIAS)));
    }

    /**
     * The rows an embedding lookup reads: the packed lm_head when the table is the same array
     * (tied weights), so the vocabulary matrix is resident once, in the GEMM's layout.
     */
    private PackedWeight embeddingRows(float[] table, float[] lmHeadSource, int vocab, int d) {
        if (table == lmHeadSource) {
            return lmHead.weight();
        }
        PackedWeight rows = new PackedWeight.FloatPanels(vocab, d, table, 0);
        resident.put(table, rows.bytes());
        return rows;
    }

    private Linear track(Linear l) {
        resident.put(l.weight(), l.weight().bytes());
        track(l.bias());
        return l;
    }

    /** A checkpoint's stored table is resident as read; sinusoids are built as inputs reach them. */
    private PositionTable track(PositionTable t) {
        if (t.isStored()) {
            resident.put(t, 4L * t.rowsBuilt() * config.dModel());
        }
        return t;
    }

    private float[] track(float[] a) {
        if (a != null) {
            resident.put(a, 4L * a.length);
        }
        return a;
    }

    /**
     * Bytes of the weights this model keeps (packed matrices, biases, norms, embeddings,
     * position tables; each array once): after the build, nothing else holds the checkpoint's
     * tensors, so this is the model's resident size. Compare {@code 4 x}
     * {@link MarianWeights#parameterCount()}, the FP32 size.
     */
    public long residentBytes() {
        long n = 0;
        for (long b : resident.values()) {
            n += b;
        }
        return n;
    }

    public MarianConfig config() {
        return config;
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public SpecialIds specialIds() {
        return specialIds;
    }

    @Override
    public LogitsView output() {
        return output;
    }

    @Override
    public int sourceVocabSize() {
        return config.vocabSize();
    }

    @Override
    public int maxPositions() {
        return config.maxPositions();
    }

    @Override
    public long decoderBytes(int sentences, int beams, int srcLen, int maxLength) {
        return DecoderSizing.bytes(config, sentences, beams, srcLen, Math.min(maxLength, config.maxPositions()));
    }

    /**
     * Runs the encoder over a batch of id sequences (each already ending with {@code </s>}),
     * right-padded to the longest, in {@code ws}; the output lives in the workspace until its next
     * encode. (There is no overload that makes a workspace: its owner must close it.)
     */
    public EncoderOutput encode(int[][] ids, Workspace ws) {
        return encode(TokenIds.of(ids), ws);
    }

    /** Runs the encoder over {@code ids} (read where they are: arrays, or an Arrow vector's buffers). */
    @Override
    public EncoderOutput encode(TokenIds ids, Workspace ws) {
        ws.check(config);
        int batch = ids.size();
        int srcLen = 1;
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            int len = ids.length(b);
            if (len == 0) {
                throw new SentenceRejectedException("sentence " + b + " has no tokens (expected at least </s>)");
            }
            if (len > config.maxPositions()) {
                throw new SentenceRejectedException("sentence " + b + " has " + len
                        + " tokens, the model's max_position_embeddings is " + config.maxPositions());
            }
            lengths[b] = len;
            srcLen = Math.max(srcLen, lengths[b]);
        }
        int d = config.dModel();
        int rows = batch * srcLen;
        ws.encX = FloatArrays.ensure(ws.encX, Math.multiplyExact(rows, d));
        ws.encTmp = FloatArrays.ensure(ws.encTmp, rows * d);
        ws.encHidden = FloatArrays.ensure(ws.encHidden, Math.multiplyExact(rows, config.encoderFfn()));
        ws.scratch.ensure(rows, d);
        float[] x = ws.encX; // [batch, srcLen, d]
        float[] pos = encPos.upTo(srcLen);
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < srcLen; i++) {
                int id = i < lengths[b] ? ids.id(b, i) : config.padId();
                embedInto(encEmbed, config.vocabSize(), id, pos, i, x, (b * srcLen + i) * d);
            }
        }
        for (EncoderLayer layer : encoder) {
            layer.forwardInPlace(x, batch, srcLen, lengths, ws.scratch, ws.encTmp, ws.encHidden);
        }
        return new EncoderOutput(x, batch, srcLen, lengths, shortlist == null ? null : restrict(shortlist.candidates(ids)));
    }

    /**
     * The candidates, or null when they are most of the vocabulary: gathering lm_head rows then
     * costs more than the columns it saves.
     */
    private int[] restrict(int[] candidates) {
        return candidates.length * 4L >= 3L * config.decoderVocabSize() ? null : candidates;
    }

    private void embedInto(PackedWeight table, int vocab, int id, float[] pos, int position, float[] out, int off) {
        if (id < 0 || id >= vocab) {
            throw new SentenceRejectedException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
        int d = config.dModel();
        table.copyRow(id, out, off);
        int p = position * d;
        for (int j = 0; j < d; j++) {
            out[off + j] = out[off + j] * embedScale + pos[p + j];
        }
    }

    /**
     * The decoder state of {@code ws}, prepared for {@code rowCapacity} hypothesis rows over this
     * encoder output, with the cross-attention keys/values of every layer computed now, once.
     */
    @Override
    public DecoderState newDecoderState(EncoderOutput enc, int rowCapacity, int expectedSteps, Workspace ws) {
        DecoderState st = ws.decoderState(config);
        st.reset(enc, rowCapacity, expectedSteps);
        if (enc.outputIds() == null) {
            st.setOutput(output, null, null);
        } else {
            int[] ids = enc.outputIds();
            st.setOutput(Shortlist.view(ids), kernels.selectRows(lmHead.weight(), ids), selectBias(ids));
        }
        ws.scratch.ensure(enc.batch() * enc.srcLen(), config.dModel());
        for (int l = 0; l < decoder.length; l++) {
            decoder[l].crossAttention().projectCross(enc.hidden(), enc.batch(), enc.srcLen(), ws.scratch,
                    st.encK[l].buffer(), st.encV[l].buffer());
        }
        return st;
    }

    /** final_logits_bias of the tokens {@code ids}, or null when the model has none. */
    private float[] selectBias(int[] ids) {
        float[] b = lmHead.bias();
        if (b == null) {
            return null;
        }
        float[] out = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = b[ids[i]];
        }
        return out;
    }

    /** The shortlist this model applies, or null (exact mode). */
    public Shortlist shortlist() {
        return shortlist;
    }

    /** Starts decoding: row r decodes sentence {@code sentences[r]}. */
    @Override
    public void startDecoding(DecoderState st, int[] sentences) {
        st.initRows(sentences);
    }

    /**
     * Feeds one token per active row at the next position and leaves the logits
     * ({@code [rows, V]}, final_logits_bias added) in {@link DecoderState#logits()}.
     */
    @Override
    public void decodeStep(DecoderState st, int[] tokens) {
        int t = st.steps();
        if (t >= config.maxPositions()) {
            throw new IllegalStateException("decoder position " + t + " exceeds max_position_embeddings "
                    + config.maxPositions());
        }
        st.ensureTime(t);
        int d = config.dModel();
        int rows = st.rows();
        float[] pos = decPos.upTo(t + 1);
        for (int r = 0; r < rows; r++) {
            embedInto(decEmbed, config.decoderVocabSize(), tokens[r], pos, t, st.x, r * d);
        }
        for (int l = 0; l < decoder.length; l++) {
            decoder[l].stepInPlace(st.x, st, l, t);
        }
        if (st.outputWeight == null) {
            lmHead.forward(st.x, 0, rows, st.logits, 0);
        } else { // a shortlist's rows of lm_head: the same kernel, so the same logits for those tokens
            kernels.linear(st.x, 0, rows, st.outputWeight, st.outputBias, st.logits, 0);
        }
        st.advance();
    }
}
