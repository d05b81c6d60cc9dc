package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.DecoderSizing;
import io.sparknmt.model.DecoderState;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.LogitsView;
import io.sparknmt.model.SpecialIds;
import io.sparknmt.model.TokenIds;
import io.sparknmt.model.TranslationModel;
import io.sparknmt.model.Workspace;

/**
 * Greedy decoding as transformers does it: from {@code decoder_start_token_id}, the argmax of the
 * processed logits until {@code </s>} or max length. Each token's score is its log-softmax over
 * the raw logits, so greedy's score equals beam-1's except for a sentence forced to end at max
 * length (beam search counts the forced EOS as 0, as transformers does). Finished sentences
 * leave the active batch.
 */
public final class GreedySearch {
    private GreedySearch() {
    }

    public static Hypothesis[] run(TranslationModel model, GenerationConfig gen, EncoderOutput enc, DecodeOptions opt) {
        try (Workspace ws = new Workspace()) {
            return run(model, gen, enc, opt, ws);
        }
    }

    /** Decodes in {@code ws}'s decoder state (reused across batches), without the source ids. */
    public static Hypothesis[] run(TranslationModel model, GenerationConfig gen, EncoderOutput enc, DecodeOptions opt,
                                   Workspace ws) {
        return run(model, gen, enc, opt, ws, null);
    }

    /**
     * Decodes in {@code ws}'s decoder state; {@code src} are the batch's source ids (needed by
     * encoder_no_repeat_ngram_size only; may be null otherwise).
     */
    public static Hypothesis[] run(TranslationModel model, GenerationConfig gen, EncoderOutput enc, DecodeOptions opt,
                                   Workspace ws, TokenIds src) {
        SpecialIds ids = model.specialIds();
        int eos = gen.eosId() >= 0 ? gen.eosId() : ids.eos();
        int start = gen.decoderStartId() >= 0 ? gen.decoderStartId() : ids.decoderStart();
        int batch = enc.batch();
        Kernels kernels = model.kernels();
        int maxLen = Math.min(opt.maxLength(), model.maxPositions());
        DecoderState st = model.newDecoderState(enc, batch, DecoderSizing.initialSteps(maxLen, enc.srcLen()), ws);
        LogitsView view = st.output(); // the model's vocabulary, or a shortlist's candidates for this batch
        int vocab = view.width();
        int eosColumn = view.column(eos);
        LogitsProcessor proc = new LogitsProcessor(gen, opt, view, kernels, maxLen, start, eos, sourceIds(src));
        int[] sentences = new int[batch];
        for (int b = 0; b < batch; b++) {
            sentences[b] = b;
        }
        model.startDecoding(st, sentences);
        int[][] out = new int[batch][maxLen];
        int[] outLen = new int[batch];
        double[] sumLogProb = new double[batch];
        boolean[] finished = new boolean[batch];
        int[] rowSentence = sentences.clone();   // sentence of each active row
        int[] tokens = new int[batch];
        java.util.Arrays.fill(tokens, start);
        int[] keep = new int[batch];
        int rows = batch;
        // the raw row, when a processor changes finite scores (the score counts the raw log-probability)
        float[] rawRow = proc.changesValues() ? new float[vocab] : null;
        for (int curLen = 1; rows > 0; curLen++) {
            model.decodeStep(st, tokens);
            float[] logits = st.logits();
            int kept = 0;
            for (int r = 0; r < rows; r++) {
                int off = r * vocab;
                int s = rowSentence[r];
                double lse = LogitsProcessor.logSumExp(kernels, logits, off, vocab);
                float rawEos = eosColumn >= 0 ? logits[off + eosColumn] : Float.NEGATIVE_INFINITY;
                if (rawRow != null) {
                    System.arraycopy(logits, off, rawRow, 0, vocab);
                }
                boolean forced = proc.apply(logits, off, vocab, out[s], outLen[s], s);
                int column = kernels.argmax(logits, off, vocab);
                int best = view.tokenId(column);
                // The model's own log-probability of the chosen token (raw log-softmax), also for a
                // forced EOS at max length, where beam search instead counts 0 as transformers does.
                float raw = rawRow != null ? rawRow[column] : forced ? rawEos : logits[off + column];
                sumLogProb[s] += raw - lse;
                if (best == eos) {
                    finished[s] = true;
                } else {
                    out[s][outLen[s]++] = best;
                    if (curLen + 1 < maxLen) {
                        tokens[kept] = best;
                        rowSentence[kept] = s;
                        keep[kept++] = r;
                    }
                }
            }
            if (kept < rows && kept > 0) {
                st.reorderRows(keep, kept);
            }
            rows = kept;
        }
        Hypothesis[] result = new Hypothesis[batch];
        for (int b = 0; b < batch; b++) {
            int[] toks = java.util.Arrays.copyOf(out[b], outLen[b]);
            int genLen = toks.length + (finished[b] ? 1 : 0);
            result[b] = new Hypothesis(toks, finished[b], sumLogProb[b],
                    sumLogProb[b] / StrictMath.pow(Math.max(genLen, 1), opt.lengthPenalty()));
        }
        return result;
    }

    /** The source ids as arrays (for the encoder n-gram processor), or null. */
    static int[][] sourceIds(TokenIds src) {
        if (src == null) {
            return null;
        }
        int[][] out = new int[src.size()][];
        for (int r = 0; r < out.length; r++) {
            out[r] = new int[src.length(r)];
            for (int p = 0; p < out[r].length; p++) {
                out[r][p] = src.id(r, p);
            }
        }
        return out;
    }
}
