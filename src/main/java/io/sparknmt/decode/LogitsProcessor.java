package io.sparknmt.decode;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.LogitsView;
import java.util.Arrays;

/**
 * transformers' logits processors for a Marian decode, applied to one row of scores in place, in
 * the order of transformers' {@code _get_logits_processor} (4.4x):
 * <ol>
 *   <li>RepetitionPenalty: every token of the sequence so far (the start token included) has its
 *       score divided by the penalty when positive, multiplied when negative;</li>
 *   <li>NoRepeatNGram: a token that would repeat an n-gram of the sequence (start included) gets -inf;</li>
 *   <li>EncoderNoRepeatNGram: a token that would complete an n-gram of the source ids gets -inf;</li>
 *   <li>NoBadWords: single bad tokens get -inf; a multi-token bad sequence bans its last token when the
 *       sequence (start included) ends with the rest;</li>
 *   <li>MinLength / MinNewTokens: {@code </s>} gets -inf until {@code minNewTokens} tokens are generated;</li>
 *   <li>ForcedEOS: at the last position only {@code forced_eos_token_id} is allowed, with score 0;</li>
 *   <li>LogitNormalization (renormalize_logits): log-softmax of the row.</li>
 * </ol>
 * Greedy search applies them to the raw logits, beam search to their log-softmax, as transformers
 * does. Token ids are mapped to columns through the output layer's {@link LogitsView}. One
 * instance serves one search call (it keeps per-call scratch).
 *
 * <p>The sequence of a row is {@code start} followed by {@code generated[0..genLen)}.
 */
final class LogitsProcessor {
    private final LogitsView view;
    private final Kernels kernels;
    private final int[] badColumns;
    private final int[][] badSequences;
    private final int[] badSequenceLastColumn;
    private final int forcedEos; // column of forced_eos_token_id, or -1
    private final int eosColumn;
    private final int maxLength;
    private final int minNewTokens;
    private final float repetitionPenalty;
    private final int ngram;
    private final int encoderNgram;
    private final int[][] sources; // per sentence, the source ids (for encoder_no_repeat_ngram_size)
    private final boolean renormalize;
    private final int start;
    private final int[] stamp; // per column: the call that last penalised it (repetition penalty)
    private int call;

    LogitsProcessor(GenerationConfig gen, DecodeOptions opt, LogitsView view, Kernels kernels, int maxLength,
                    int start, int eos, int[][] sources) {
        this.view = view;
        this.kernels = kernels;
        this.badColumns = Arrays.stream(gen.badTokenIds()).map(view::column).filter(c -> c >= 0).toArray();
        this.badSequences = gen.badSequences();
        this.badSequenceLastColumn = Arrays.stream(badSequences).mapToInt(s -> view.column(s[s.length - 1])).toArray();
        if (gen.forcedEosId() >= 0 && view.column(gen.forcedEosId()) < 0) {
            throw new IllegalArgumentException("forced_eos_token_id " + gen.forcedEosId() + " is not in the output layer");
        }
        this.forcedEos = gen.forcedEosId() >= 0 ? view.column(gen.forcedEosId()) : -1;
        this.eosColumn = view.column(eos);
        this.maxLength = maxLength;
        this.minNewTokens = opt.minNewTokens();
        this.repetitionPenalty = (float) opt.repetitionPenalty();
        this.ngram = opt.noRepeatNgramSize();
        this.encoderNgram = gen.encoderNoRepeatNgramSize();
        if (encoderNgram > 0 && sources == null) {
            throw new IllegalArgumentException("encoder_no_repeat_ngram_size needs the source ids");
        }
        this.sources = sources;
        this.renormalize = gen.renormalizeLogits();
        this.start = start;
        this.stamp = repetitionPenalty != 1f ? new int[view.width()] : null;
    }

    /**
     * @param generated tokens generated so far for this row (without the start token)
     * @param genLen    how many of them; the sequence length transformers sees is {@code genLen + 1}
     * @param sentence  the row's sentence (index into the sources)
     * @return true when the forced-EOS rule fired (the row now allows only EOS)
     */
    boolean apply(float[] scores, int off, int vocab, int[] generated, int genLen, int sentence) {
        int curLen = genLen + 1; // input_ids.shape[-1]: the start token and the generated tokens
        if (stamp != null) {
            call++;
            for (int i = 0; i < curLen; i++) {
                int c = view.column(i == 0 ? start : generated[i - 1]);
                if (c >= 0 && stamp[c] != call) {
                    stamp[c] = call;
                    float s = scores[off + c];
                    scores[off + c] = s < 0 ? s * repetitionPenalty : s / repetitionPenalty;
                }
            }
        }
        if (ngram > 0 && curLen + 1 >= ngram) {
            // the last ngram-1 tokens of the sequence, against every earlier n-gram of it
            int prefixStart = curLen - ngram + 1;
            for (int i = 0; i + ngram <= curLen; i++) {
                boolean match = true;
                for (int j = 0; j < ngram - 1 && match; j++) {
                    match = token(generated, i + j) == token(generated, prefixStart + j);
                }
                if (match) {
                    ban(scores, off, token(generated, i + ngram - 1));
                }
            }
        }
        if (encoderNgram > 0 && curLen + 1 >= encoderNgram) {
            int[] src = sources[sentence];
            int prefixStart = curLen - encoderNgram + 1;
            for (int i = 0; i + encoderNgram <= src.length; i++) {
                boolean match = true;
                for (int j = 0; j < encoderNgram - 1 && match; j++) {
                    match = src[i + j] == token(generated, prefixStart + j);
                }
                if (match) {
                    ban(scores, off, src[i + encoderNgram - 1]);
                }
            }
        }
        for (int c : badColumns) {
            scores[off + c] = Float.NEGATIVE_INFINITY;
        }
        for (int b = 0; b < badSequences.length; b++) {
            int[] seq = badSequences[b];
            if (seq.length > curLen || badSequenceLastColumn[b] < 0) {
                continue;
            }
            boolean match = true;
            for (int j = 0; j < seq.length - 1 && match; j++) {
                match = seq[j] == token(generated, curLen - (seq.length - 1) + j);
            }
            if (match) {
                scores[off + badSequenceLastColumn[b]] = Float.NEGATIVE_INFINITY;
            }
        }
        if (genLen < minNewTokens && eosColumn >= 0) {
            scores[off + eosColumn] = Float.NEGATIVE_INFINITY;
        }
        boolean forced = false;
        if (forcedEos >= 0 && curLen == maxLength - 1) {
            Arrays.fill(scores, off, off + vocab, Float.NEGATIVE_INFINITY);
            scores[off + forcedEos] = 0f;
            forced = true;
        }
        if (renormalize) {
            float lse = (float) logSumExp(kernels, scores, off, vocab);
            kernels.add(scores, off, vocab, -lse);
        }
        return forced;
    }

    /** True when a processor changes scores other than to -inf (repetition penalty, renormalization, a forced EOS other than </s>). */
    boolean changesValues() {
        return stamp != null || renormalize || (forcedEos >= 0 && forcedEos != eosColumn);
    }

    /** Token {@code i} of the sequence {@code [start] + generated}. */
    private int token(int[] generated, int i) {
        return i == 0 ? start : generated[i - 1];
    }

    private void ban(float[] scores, int off, int tokenId) {
        int c = view.column(tokenId);
        if (c >= 0) {
            scores[off + c] = Float.NEGATIVE_INFINITY;
        }
    }

    /** log(sum(exp(x))) over a row: the max, then float terms summed in double. */
    static double logSumExp(Kernels kernels, float[] x, int off, int len) {
        float max = kernels.max(x, off, len);
        return max + StrictMath.log(kernels.sumExp(x, off, len, max));
    }
}
