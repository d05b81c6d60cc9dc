package io.sparknmt.spark;

import java.io.Serializable;

/**
 * What every partition needs to know, resolved on the driver (CLI &gt; conf file &gt; model
 * defaults) and shipped with the task. Small and immutable.
 *
 * @param beamSize          beams (1 = greedy)
 * @param nBest             hypotheses kept per sentence
 * @param maxLength         decoder max length, start token included (max output tokens + 1)
 * @param maxInputTokens    longest source in tokens ({@code </s>} included); longer ones are cut, and say so
 * @param maxBatchTokens    padded source tokens per batch
 * @param maxBatchSentences sentences per batch
 * @param targetLang        language code prepended as {@code >>xx<<}, or null
 * @param windowRows        rows read ahead and length-sorted together
 * @param taskMemoryBytes   bytes the task's Arrow allocator may hold, and the decoder-state budget of one batch
 * @param emitTokens        also emit the translated ids (Arrow output)
 * @param kernelThreads     threads for one task's linear layers; 0 = the task's CPUs (spark.task.cpus)
 */
record PartitionSettings(int beamSize, int nBest, int maxLength, int maxInputTokens, int maxBatchTokens,
                         int maxBatchSentences, String targetLang, int windowRows, long taskMemoryBytes,
                         boolean emitTokens, int kernelThreads) implements Serializable {
    PartitionSettings {
        if (maxBatchTokens < maxInputTokens) {
            throw new IllegalArgumentException("--max-batch-tokens " + maxBatchTokens
                    + " must be at least --max-input-tokens " + maxInputTokens + " so every sentence fits a batch");
        }
        if (kernelThreads < 0) {
            throw new IllegalArgumentException("--kernel-threads must be >= 0, got " + kernelThreads);
        }
        if (maxBatchSentences < 1 || windowRows < 1) {
            throw new IllegalArgumentException("--max-batch-sentences must be >= 1");
        }
    }
}
