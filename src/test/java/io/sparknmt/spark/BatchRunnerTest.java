package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.io.RowStatus;
import io.sparknmt.model.Workspace;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * --task-memory-mb is enforced, not estimated: the decoder's off-heap blocks reserve their bytes
 * in the task's Arrow allocator, a batch whose blocks do not fit is retried in halves, and the
 * translations and scores are those of an unbounded run, to the bit.
 */
class BatchRunnerTest {
    static Translator engine;
    static List<int[]> sources;

    @BeforeAll
    static void load() throws IOException {
        engine = Translator.load(TestPaths.sampleModel());
        sources = new ArrayList<>();
        for (String line : Files.readAllLines(TestPaths.repo().resolve("sample-data/corpus/en.txt")).subList(0, 24)) {
            sources.add(engine.tokenizer().encode(line));
        }
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static List<Item> items() {
        List<Item> out = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            Item it = new Item(i, null, null);
            it.ids = sources.get(i);
            out.add(it);
        }
        return out;
    }

    /** Runs one batch of all sources; returns the runner and the most off-heap bytes its workspace held. */
    private static long[] run(List<Item> batch, long accountLimit, DecodeOptions opt) {
        try (BufferAllocator task = new RootAllocator(accountLimit)) {
            BatchRunner runner;
            long held;
            try (Workspace ws = new Workspace(new ArrowMemoryAccount(task))) {
                // no predicted split: only the account can make the runner split
                runner = new BatchRunner(engine, opt, Long.MAX_VALUE, ws, task);
                runner.run(batch);
                held = ws.offHeapBytes();
                assertTrue(task.getAllocatedMemory() >= held, "the caches' bytes are reserved in the allocator");
            }
            assertEquals(0, task.getAllocatedMemory(), "closing the workspace gives every reservation back");
            return new long[]{runner.splits(), held};
        }
    }

    @Test
    void aBatchPastTheTaskAccountIsSplitAndTranslatesToTheSameBits() {
        DecodeOptions opt = new DecodeOptions(4, 64, engine.generation().lengthPenalty(), 2);
        List<Item> free = items();
        long[] unbounded = run(free, Long.MAX_VALUE, opt);
        assertEquals(0, unbounded[0], "no split without a limit");
        long full = unbounded[1];
        assertTrue(full > 1 << 20, "the batch holds real caches: " + full);

        List<Item> tight = items();
        long[] bounded = run(tight, full * 3 / 4, opt);
        assertTrue(bounded[0] > 0, "the account refused the whole batch, so it was split");
        assertTrue(bounded[1] <= full * 3 / 4, "never more than the limit held: " + bounded[1]);
        for (int i = 0; i < free.size(); i++) {
            Translation a = free.get(i).translation;
            Translation b = tight.get(i).translation;
            assertNotNull(b, "sentence " + i + " translated");
            assertNull(tight.get(i).status, "no failure for sentence " + i);
            assertEquals(a.text(), b.text());
            assertArrayEquals(a.best().tokens(), b.best().tokens());
            assertEquals(Double.doubleToLongBits(a.best().score()), Double.doubleToLongBits(b.best().score()),
                    "score of sentence " + i + " to the bit");
            assertEquals(a.nBest().size(), b.nBest().size());
            for (int j = 0; j < a.nBest().size(); j++) {
                assertEquals(Double.doubleToLongBits(a.nBest().get(j).hypothesis().score()),
                        Double.doubleToLongBits(b.nBest().get(j).hypothesis().score()));
            }
        }
    }

    @Test
    void aSentenceThatCannotFitFailsAloneWithTheReason() {
        DecodeOptions opt = new DecodeOptions(4, 64, engine.generation().lengthPenalty(), 1);
        List<Item> batch = items();
        long[] r = run(batch, 64 << 10, opt); // 64 KB: not even one sentence's caches
        assertTrue(r[0] > 0);
        for (Item it : batch) {
            assertEquals(RowStatus.ERROR, it.status);
            assertTrue(it.message.contains("--task-memory-mb"), it.message);
            assertNull(it.translation);
        }
    }

    @Test
    void aSentenceTheModelRefusesFailsAloneAndTheOthersAreTranslated() {
        DecodeOptions opt = new DecodeOptions(1, 64, 1.0, 1);
        List<Item> batch = items();
        int vocab = engine.model().sourceVocabSize();
        batch.get(3).ids = new int[]{5, vocab + 1000, 0}; // a token id outside the vocabulary (pre-tokenized input)
        run(batch, Long.MAX_VALUE, opt);
        for (int i = 0; i < batch.size(); i++) {
            Item it = batch.get(i);
            if (i == 3) {
                assertEquals(RowStatus.ERROR, it.status);
                assertTrue(it.message.contains("outside the vocabulary"), it.message);
            } else {
                assertNull(it.status, "sentence " + i);
                assertNotNull(it.translation, "sentence " + i);
            }
        }
    }

    @Test
    void aBugFailsTheTaskInsteadOfBecomingErrorRows() {
        DecodeOptions opt = new DecodeOptions(1, 64, 1.0, 1);
        try (BufferAllocator task = new RootAllocator(Long.MAX_VALUE)) {
            Workspace ws = new Workspace(new ArrowMemoryAccount(task));
            ws.close(); // using a closed workspace is a programming error
            BatchRunner runner = new BatchRunner(engine, opt, Long.MAX_VALUE, ws, task);
            List<Item> batch = items();
            assertThrows(IllegalStateException.class, () -> runner.run(batch));
            for (Item it : batch) {
                assertNull(it.status, "no row was marked as failed by a bug");
            }
        }
    }

    @Test
    void onlyDirectMemoryExhaustionIsRetriedInHalves() {
        assertTrue(BatchRunner.isDirectMemory(new OutOfMemoryError("Direct buffer memory")));
        assertTrue(BatchRunner.isDirectMemory(new OutOfMemoryError(
                "Cannot reserve 1048576 bytes of direct buffer memory (allocated: 33554432, limit: 33554432)")));
        assertFalse(BatchRunner.isDirectMemory(new OutOfMemoryError("Java heap space")));
        assertFalse(BatchRunner.isDirectMemory(new OutOfMemoryError()));
    }
}
