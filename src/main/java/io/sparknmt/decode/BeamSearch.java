package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.DecoderSizing;
import io.sparknmt.model.DecoderState;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.GenerationConfig.EarlyStopping;
import io.sparknmt.model.LogitsView;
import io.sparknmt.model.TokenIds;
import io.sparknmt.model.TranslationModel;
import io.sparknmt.model.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Beam search with the semantics of transformers' BeamSearchScorer (a one-token decoder prompt;
 * early_stopping true, false or "never", see {@link Finished#isDone}):
 * <ul>
 *   <li>beam scores start at {@code [0, -1e9, ...]}; each step adds the log-softmax of the raw
 *       logits (after the logits processors) to the beam's score and takes the top
 *       {@code 2 * beams} candidates of each sentence;</li>
 *   <li>an EOS candidate ranked below {@code beams} is skipped; otherwise it closes a hypothesis
 *       scored {@code sum / generatedLen^lengthPenalty} (EOS counted in the length); other
 *       candidates become the next beams until there are {@code beams};</li>
 *   <li>a sentence is done when it holds {@code beams} hypotheses and the worst of them is at
 *       least the best candidate's score normalised by the current length;</li>
 *   <li>at max length every open beam is added as a hypothesis.</li>
 * </ul>
 * Done sentences leave the active batch; the KV cache is reordered by beam origin each step.
 */
public final class BeamSearch {
    private BeamSearch() {
    }

    /** @return per sentence, its hypotheses best first (at most {@code opt.nBest()}) */
    public static List<List<Hypothesis>> run(TranslationModel model, GenerationConfig gen, EncoderOutput enc,
                                             DecodeOptions opt) {
        try (Workspace ws = new Workspace()) {
            return run(model, gen, enc, opt, ws);
        }
    }

    /** Decodes in {@code ws}'s decoder state (reused across batches), without the source ids. */
    public static List<List<Hypothesis>> run(TranslationModel model, GenerationConfig gen, EncoderOutput enc,
                                             DecodeOptions opt, Workspace ws) {
        return run(model, gen, enc, opt, ws, null);
    }

    /**
     * Decodes in {@code ws}'s decoder state; {@code src} are the batch's source ids (needed by
     * encoder_no_repeat_ngram_size only; may be null otherwise).
     */
    public static List<List<Hypothesis>> run(TranslationModel model, GenerationConfig gen, EncoderOutput enc,
                                             DecodeOptions opt, Workspace ws, TokenIds src) {
        int k = opt.beamSize();
        int batch = enc.batch();
        Kernels kernels = model.kernels();
        int eos = gen.eosId() >= 0 ? gen.eosId() : model.specialIds().eos();
        int start = gen.decoderStartId() >= 0 ? gen.decoderStartId() : model.specialIds().decoderStart();
        int maxLen = Math.min(opt.maxLength(), model.maxPositions());
        double lp = opt.lengthPenalty();
        DecoderState st = model.newDecoderState(enc, batch * k, DecoderSizing.initialSteps(maxLen, enc.srcLen()), ws);
        LogitsView view = st.output(); // the model's vocabulary, or a shortlist's candidates for this batch
        int vocab = view.width();
        LogitsProcessor proc = new LogitsProcessor(gen, opt, view, kernels, maxLen, start, eos,
                GreedySearch.sourceIds(src));

        int rowsCap = batch * k;
        int[] rowSentence = new int[rowsCap];
        for (int r = 0; r < rowsCap; r++) {
            rowSentence[r] = r / k;
        }
        model.startDecoding(st, rowSentence);
        double[] beamScore = new double[rowsCap];
        for (int r = 0; r < rowsCap; r++) {
            beamScore[r] = r % k == 0 ? 0.0 : -1e9;
        }
        int[][] seq = new int[rowsCap][maxLen];     // generated tokens of each row (no start token)
        int[][] nextSeq = new int[rowsCap][maxLen];
        Finished[] hyps = new Finished[batch];
        for (int b = 0; b < batch; b++) {
            hyps[b] = new Finished(k, lp, opt.earlyStopping(), maxLen);
        }
        int[] tokens = new int[rowsCap];
        Arrays.fill(tokens, start);
        int[] activeSentences = new int[batch];     // sentences with rows, in row order
        for (int b = 0; b < batch; b++) {
            activeSentences[b] = b;
        }
        int nActive = batch;

        int cand = 2 * k;
        double[] candScore = new double[cand];
        int[] candFlat = new int[cand];
        int[] srcRows = new int[rowsCap];
        int[] nextTokens = new int[rowsCap];
        double[] nextScore = new double[rowsCap];

        for (int curLen = 1; nActive > 0; curLen++) {
            model.decodeStep(st, tokens);
            float[] logits = st.logits();
            // log-softmax of the raw logits, then the processors (LogitsProcessor), then + beam score (in place)
            int rows = nActive * k;
            for (int r = 0; r < rows; r++) {
                int off = r * vocab;
                float lse = (float) LogitsProcessor.logSumExp(kernels, logits, off, vocab);
                kernels.add(logits, off, vocab, -lse);
                proc.apply(logits, off, vocab, seq[r], curLen - 1, activeSentences[r / k]);
            }
            int newRows = 0;
            int newActive = 0;
            for (int a = 0; a < nActive; a++) {
                int sentence = activeSentences[a];
                int rowBase = a * k;
                topCandidates(kernels, logits, rowBase, k, vocab, beamScore, candScore, candFlat);
                Finished fin = hyps[sentence];
                int taken = 0;
                int firstNew = newRows;
                for (int rank = 0; rank < cand && taken < k; rank++) {
                    if (candScore[rank] == Double.NEGATIVE_INFINITY) {
                        break; // fewer than 2K finite candidates (a narrow shortlist view): no slot filled
                    }
                    int beam = candFlat[rank] / vocab;
                    int token = view.tokenId(candFlat[rank] % vocab);
                    int row = rowBase + beam;
                    if (token == eos) {
                        if (rank >= k) {
                            continue;
                        }
                        fin.add(Arrays.copyOf(seq[row], curLen - 1), true, candScore[rank], curLen);
                    } else {
                        srcRows[newRows] = row;
                        nextTokens[newRows] = token;
                        nextScore[newRows] = candScore[rank];
                        newRows++;
                        taken++;
                    }
                }
                boolean done = fin.isDone(candScore[0], curLen);
                boolean atMax = curLen + 1 >= maxLen;
                if (taken < k) {
                    // fewer than k finite continuations: the vocabulary is nearly all forbidden
                    done = true;
                }
                if (done || atMax) {
                    if (!done) {
                        // max length: every open beam becomes a hypothesis, generated length curLen
                        for (int r = firstNew; r < newRows; r++) {
                            int[] toks = Arrays.copyOf(seq[srcRows[r]], curLen);
                            toks[curLen - 1] = nextTokens[r];
                            fin.add(toks, false, nextScore[r], curLen);
                        }
                    }
                    newRows = firstNew; // drop this sentence's rows
                } else {
                    activeSentences[newActive++] = sentence;
                }
            }
            for (int r = 0; r < newRows; r++) {
                System.arraycopy(seq[srcRows[r]], 0, nextSeq[r], 0, curLen - 1);
                nextSeq[r][curLen - 1] = nextTokens[r];
                beamScore[r] = nextScore[r];
                tokens[r] = nextTokens[r];
            }
            int[][] swap = seq;
            seq = nextSeq;
            nextSeq = swap;
            nActive = newActive;
            if (newRows > 0) {
                st.reorderRows(srcRows, newRows);
            }
        }
        List<List<Hypothesis>> out = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            out.add(hyps[b].best(opt.nBest()));
        }
        return out;
    }

    /**
     * The top {@code 2k} of {@code scores[row] + beamScore[row]} over a sentence's k rows,
     * sorted by score descending (ties: lower flat index first). {@code flat = beam * width + column}
     * over the output layer's columns ({@link LogitsView}).
     */
    static void topCandidates(Kernels kernels, float[] logProbs, int rowBase, int k, int vocab, double[] beamScore,
                              double[] outScore, int[] outFlat) {
        int n = outScore.length;
        Arrays.fill(outScore, Double.NEGATIVE_INFINITY);
        Arrays.fill(outFlat, -1);
        for (int beam = 0; beam < k; beam++) {
            int row = rowBase + beam;
            int off = row * vocab;
            // Scores are float32 in transformers: round the sum to float as torch does.
            float bs = (float) beamScore[row];
            float threshold = (float) outScore[n - 1];
            for (int t = 0; t < vocab; t++) {
                if (outFlat[n - 1] >= 0) {
                    // the list is full: skip ahead to the next score that beats its last entry
                    t = kernels.nextAbove(logProbs, off + t, off + vocab, bs, threshold) - off;
                    if (t == vocab) {
                        break;
                    }
                }
                float s = logProbs[off + t] + bs;
                if (s > threshold || (outFlat[n - 1] < 0 && s != Float.NEGATIVE_INFINITY)) {
                    int flat = beam * vocab + t;
                    int i = n - 1;
                    while (i > 0 && (outFlat[i - 1] < 0 || s > outScore[i - 1])) {
                        outScore[i] = outScore[i - 1];
                        outFlat[i] = outFlat[i - 1];
                        i--;
                    }
                    outScore[i] = s;
                    outFlat[i] = flat;
                    threshold = (float) outScore[n - 1];
                }
            }
        }
    }

    /** transformers' BeamHypotheses: the best {@code k} finished hypotheses of one sentence. */
    static final class Finished {
        private final int k;
        private final double lengthPenalty;
        private final EarlyStopping earlyStopping;
        private final int maxLength;
        private final List<Hypothesis> list = new ArrayList<>();
        private double worst = 1e9;

        Finished(int k, double lengthPenalty, EarlyStopping earlyStopping, int maxLength) {
            this.k = k;
            this.lengthPenalty = lengthPenalty;
            this.earlyStopping = earlyStopping;
            this.maxLength = maxLength;
        }

        void add(int[] tokens, boolean finished, double sumLogProbs, int generatedLen) {
            double score = sumLogProbs / StrictMath.pow(generatedLen, lengthPenalty);
            if (list.size() < k || score > worst) {
                list.add(new Hypothesis(tokens, finished, sumLogProbs, score));
                if (list.size() > k) {
                    int worstIdx = 0;
                    for (int i = 1; i < list.size(); i++) {
                        if (list.get(i).score() < list.get(worstIdx).score()) {
                            worstIdx = i;
                        }
                    }
                    list.remove(worstIdx);
                    worst = list.stream().mapToDouble(Hypothesis::score).min().orElse(1e9);
                } else {
                    worst = Math.min(score, worst);
                }
            }
        }

        /**
         * BeamHypotheses.is_done: with {@code k} hypotheses, early_stopping true stops at once; false
         * stops when the best candidate, normalised by the current length, cannot beat the worst kept
         * one; "never" normalises by the longest length still possible ({@code maxLength - 1}
         * generated tokens) when the length penalty is positive, by the current one otherwise.
         *
         * @param curLen generated length of the candidates ({@code cur_len - decoder_prompt_len})
         */
        boolean isDone(double bestCandidateScore, int curLen) {
            if (list.size() < k) {
                return false;
            }
            return switch (earlyStopping) {
                case TRUE -> true;
                case FALSE -> worst >= bestCandidateScore / StrictMath.pow(curLen, lengthPenalty);
                case NEVER -> worst >= bestCandidateScore
                        / StrictMath.pow(lengthPenalty > 0 ? maxLength - 1 : curLen, lengthPenalty);
            };
        }

        List<Hypothesis> best(int n) {
            // transformers sorts ascending and pops from the end: among equal scores the one added last comes first
            List<Hypothesis> sorted = new ArrayList<>(list);
            java.util.Collections.reverse(sorted);
            sorted.sort((a, b) -> Double.compare(b.score(), a.score()));
            return List.copyOf(sorted.subList(0, Math.min(n, sorted.size())));
        }
    }
}
