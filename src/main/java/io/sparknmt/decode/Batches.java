package io.sparknmt.decode;

import java.util.function.IntUnaryOperator;

/** Cuts length-sorted sentences into batches bounded by sentences AND padded tokens. */
public final class Batches {
    private Batches() {
    }

    /**
     * The end (exclusive) of the batch starting at {@code start}: at most {@code maxSentences}
     * sentences, and {@code longest * count <= maxTokens} padded tokens (a first sentence longer
     * than that still forms a batch of one).
     *
     * @param lengthAt token count of sentence {@code i}, ascending in {@code i}
     */
    public static int end(IntUnaryOperator lengthAt, int start, int n, int maxSentences, long maxTokens) {
        int end = start;
        int longest = 0;
        while (end < n && end - start < maxSentences) {
            int len = lengthAt.applyAsInt(end);
            if (end > start && (long) Math.max(longest, len) * (end - start + 1) > maxTokens) {
                break;
            }
            longest = Math.max(longest, len);
            end++;
        }
        return end;
    }
}
