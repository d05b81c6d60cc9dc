package io.sparknmt.spark;

import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.io.RowStatus;
import io.sparknmt.kernel.MemoryBudgetExceededException;
import io.sparknmt.model.SentenceRejectedException;
import io.sparknmt.model.Workspace;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Translates batches of items in one task: fits each batch to the memory budget, moves its ids
 * as an Arrow token batch that the encoder reads in place, and recovers from failures without
 * losing a row. A batch whose decoder state is predicted past the budget
 * ({@link io.sparknmt.model.DecoderSizing}) is split before it runs; one whose allocations are
 * refused by the task's memory account, or that runs out of direct memory, is retried in halves;
 * one with a sentence the model refuses ({@link SentenceRejectedException}), sentence by sentence,
 * so that only the culprit fails. A heap {@code OutOfMemoryError} or any other exception (a bug)
 * fails the task, with a log line saying so, and Spark retries it. Not thread-safe; one per task.
 */
final class BatchRunner {
    private static final Logger LOG = LoggerFactory.getLogger(BatchRunner.class);

    private final Translator translator;
    private final DecodeOptions options;
    private final long budgetBytes;
    private final Workspace workspace;
    private final BufferAllocator allocator;
    private long targetTokens;
    private long translateNanos;
    private int splits;

    /**
     * @param budgetBytes the predicted decoder state a batch may need (--task-memory-mb)
     * @param workspace   the task's workspace, its off-heap blocks counted against the task's account
     * @param allocator   the task's Arrow child allocator, for the token batches
     */
    BatchRunner(Translator translator, DecodeOptions options, long budgetBytes, Workspace workspace,
                BufferAllocator allocator) {
        this.translator = translator;
        this.options = options;
        this.budgetBytes = budgetBytes;
        this.workspace = workspace;
        this.allocator = allocator;
    }

    /** Translates {@code batch}: each item gets its translation, or fails with the reason. */
    void run(List<Item> batch) {
        run(batch, false);
    }

    private void run(List<Item> batch, boolean freshWorkspace) {
        int srcLen = batch.stream().mapToInt(i -> i.ids.length).max().orElse(1);
        long need = translator.translationModel().decoderBytes(batch.size(), options.beamSize(), srcLen, options.maxLength());
        if (need > budgetBytes) {
            if (batch.size() == 1) {
                batch.get(0).fail(RowStatus.ERROR, String.format("decoding needs about %d MB (KV cache of %d beams), more "
                                + "than the task budget of %d MB (--task-memory-mb)",
                        need >> 20, options.beamSize(), budgetBytes >> 20));
                return;
            }
            halves(batch);
            return;
        }
        List<int[]> seqs = new ArrayList<>(batch.size());
        for (Item it : batch) {
            seqs.add(it.ids);
        }
        boolean heldBefore = workspace.offHeapBytes() > 0;
        long t0 = System.nanoTime();
        try (TokenBatch tokens = TokenBatch.of(allocator, seqs)) {
            List<Translation> got = translator.translate(tokens, options, workspace);
            long took = System.nanoTime() - t0;
            translateNanos += took;
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).translation = got.get(i);
                batch.get(i).decodeNanos = took / batch.size();
                targetTokens += got.get(i).best().generatedLength();
            }
        } catch (MemoryBudgetExceededException | org.apache.arrow.memory.OutOfMemoryException e) {
            // The task's account refused a block: nothing past --task-memory-mb was allocated.
            // Caches kept from earlier, larger batches may be what filled it: free them and try
            // once more whole, then in halves.
            workspace.release();
            if (heldBefore && !freshWorkspace) {
                run(batch, true);
                return;
            }
            if (batch.size() == 1) {
                batch.get(0).fail(RowStatus.ERROR, "translation does not fit the task memory budget (--task-memory-mb): "
                        + e.getMessage());
                return;
            }
            LOG.warn("a batch of {} sentences is past the task memory budget ({}); retrying it in halves", batch.size(),
                    e.getMessage());
            halves(batch);
        } catch (OutOfMemoryError e) {
            if (!isDirectMemory(e)) {
                // the heap: nothing a smaller batch of this task can be trusted to fix; Spark retries the task
                LOG.error("the heap ran out translating a batch of {} sentences ({}): failing the task so that Spark "
                        + "retries it; give executors more heap or lower --max-batch-tokens", batch.size(), e.toString());
                throw e;
            }
            // One off-heap decoder-state block did not fit under -XX:MaxDirectMemorySize: free the
            // workspace's off-heap blocks and retry in halves.
            workspace.release();
            if (batch.size() == 1) {
                batch.get(0).fail(RowStatus.ERROR, "translation failed: " + e);
                return;
            }
            LOG.warn("a batch of {} sentences ran out of direct memory ({}); retrying it in halves", batch.size(),
                    e.getMessage());
            halves(batch);
        } catch (SentenceRejectedException e) {
            // a sentence the model cannot take: retry one by one so that only it fails
            if (batch.size() == 1) {
                batch.get(0).fail(RowStatus.ERROR, "translation failed: " + e.getMessage());
                return;
            }
            LOG.warn("a batch of {} sentences was refused ({}); retrying its sentences one by one", batch.size(),
                    e.getMessage());
            for (Item it : batch) {
                run(List.of(it));
            }
        } catch (RuntimeException e) {
            LOG.error("a bug stopped a batch of {} sentences: failing the task (Spark retries it)", batch.size(), e);
            throw e;
        }
    }

    /** Whether an OutOfMemoryError is about direct (off-heap) memory rather than the heap. */
    static boolean isDirectMemory(OutOfMemoryError e) {
        String m = e.getMessage();
        return m != null && m.toLowerCase(java.util.Locale.ROOT).contains("direct buffer memory");
    }

    private void halves(List<Item> batch) {
        splits++;
        int half = batch.size() / 2;
        run(batch.subList(0, half));
        run(batch.subList(half, batch.size()));
    }

    /** Tokens generated so far (with {@code </s>}). */
    long targetTokens() {
        return targetTokens;
    }

    /** Time spent in batches that succeeded. */
    long translateNanos() {
        return translateNanos;
    }

    /** Batches split in halves so far (predicted or refused past the budget, or out of memory). */
    int splits() {
        return splits;
    }
}
