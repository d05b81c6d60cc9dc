package io.sparknmt.spark;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.kernel.WeightFormat;
import java.io.Serializable;

/**
 * What every partition needs to know, resolved and checked on the driver by {@link JobSettings}
 * (its only producer) and shipped with the task. Small and immutable.
 *
 * @param decode            how to decode a batch (beams, max length with the start token, length penalty, n-best)
 * @param maxInputTokens    longest source in tokens ({@code </s>} included); longer ones are cut, and say so
 * @param maxBatchTokens    padded source tokens per batch
 * @param maxBatchSentences sentences per batch
 * @param targetLang        language code prepended as {@code >>xx<<}, or null
 * @param windowRows        rows read ahead and length-sorted together
 * @param taskMemoryBytes   bytes the task may hold off-heap: its Arrow token batches and its decoder state, one account
 * @param emitTokens        also emit the translated ids (Arrow output)
 * @param kernelThreads     threads for one task's linear layers; 0 = the task's CPUs (spark.task.cpus)
 * @param splitSentences    documents: split each text into sentences, translate them, join them back
 * @param sourceLang        the sentence splitter's language, or null (language-independent rules)
 * @param emitSentences     add the sentences column
 * @param weights           how the executor keeps the linear weights (--weights; FLOAT = exact mode)
 */
record PartitionSettings(DecodeOptions decode, int maxInputTokens, int maxBatchTokens, int maxBatchSentences,
                         String targetLang, int windowRows, long taskMemoryBytes, boolean emitTokens,
                         int kernelThreads, boolean splitSentences, String sourceLang, boolean emitSentences,
                         WeightFormat weights) implements Serializable {

    int beamSize() {
        return decode.beamSize();
    }

    int nBest() {
        return decode.nBest();
    }

    /** Decoder max length, start token included (max output tokens + 1). */
    int maxLength() {
        return decode.maxLength();
    }
}
