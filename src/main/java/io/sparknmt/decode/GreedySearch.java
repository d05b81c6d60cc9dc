package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.DecoderSizing;
import io.sparknmt.model.DecoderState;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.LogitsView;
import io.sparknmt.model.SpecialIds;
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

    /** Decodes in {@code ws}'s decoder state (reused across batches). */
    public static Hypothesis[] run(TranslationModel model, GenerationConfig gen, EncoderOutput enc, DecodeOptions opt,
                                   Workspace ws) {
        SpecialIds ids = model.specialIds();
        LogitsView view = model.output();
        int batch = enc.batch();
        int vocab = view.width();
        int eosColumn = view.column(ids.eos());
        Kernels kernels = model.kernels();
        int maxLen = Math.min(opt.maxLength(), model.maxPositions());
        LogitsProcessor proc = new LogitsProcessor(gen, view, maxLen);
        DecoderState st = model.newDecoderState(enc, batch, DecoderSizing.initialSteps(maxLen, enc.srcLen()), ws);
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
        java.util.Arrays.fill(tokens, ids.decoderStart());
        int[] keep = new int[batch];
        int rows = batch;
        for (int curLen = 1; rows > 0; curLen++) {
            model.decodeStep(st, tokens);
            float[] logits = st.logits();
            int kept = 0;
            for (int r = 0; r < rows; r++) {
                int off = r * vocab;
                int s = rowSentence[r];
                double lse = LogitsProcessor.logSumExp(kernels, logits, off, vocab);
                float rawEos = logits[off + eosColumn];
                boolean forced = proc.apply(logits, off, vocab, curLen);
                int column = kernels.argmax(logits, off, vocab);
                int best = view.tokenId(column);
                // The model's own log-probability of the chosen token (raw log-softmax), also for a
                // forced EOS at max length, where beam search instead counts 0 as transformers does.
                sumLogProb[s] += (forced ? rawEos : logits[off + column]) - lse;
                if (best == ids.eos()) {
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
}
