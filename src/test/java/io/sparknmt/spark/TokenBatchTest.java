package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.kernel.MemoryAccount;
import io.sparknmt.kernel.MemoryBudgetExceededException;
import io.sparknmt.kernel.OffHeapFloats;
import io.sparknmt.model.EncoderOutput;
import io.sparknmt.model.MarianModel;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.Workspace;
import io.sparknmt.kernel.KernelProvider;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;

/** The Arrow path: the encoder reads a token batch in the vector's own buffers; off-heap blocks reserve in the allocator. */
class TokenBatchTest {

    @Test
    void theEncoderReadsTheVectorBuffersAndGetsWhatArraysGive() {
        int[][] ids = {{5, 9, 0}, {7, 0}, {3, 4, 8, 11, 0}, {0}};
        MarianModel model = ModelBundle.load(TestPaths.sampleModel()).newModel(KernelProvider.get());
        try (BufferAllocator a = new RootAllocator(1 << 20); TokenBatch batch = TokenBatch.of(a, List.of(ids))) {
            assertTrue(a.getAllocatedMemory() > 0, "the batch lives in the allocator");
            assertEquals(ids.length, batch.size());
            for (int r = 0; r < ids.length; r++) {
                assertEquals(ids[r].length, batch.length(r));
                for (int p = 0; p < ids[r].length; p++) {
                    assertEquals(ids[r][p], batch.id(r, p));
                }
            }
            try (Workspace w1 = new Workspace(); Workspace w2 = new Workspace()) {
                EncoderOutput fromArrow = model.encode(batch, w1);
                EncoderOutput fromArrays = model.encode(ids, w2);
                assertArrayEquals(fromArrays.lengths(), fromArrow.lengths());
                int n = fromArrays.batch() * fromArrays.srcLen() * model.config().dModel();
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(fromArrays.hidden()[i]), Float.floatToRawIntBits(fromArrow.hidden()[i]),
                            "hidden value " + i);
                }
            }
            batch.close();
            assertEquals(0, a.getAllocatedMemory());
        }
    }

    @Test
    void offHeapBlocksReserveTheirBytesInTheTaskAllocator() {
        try (BufferAllocator task = new RootAllocator(1 << 20)) {
            MemoryAccount account = new ArrowMemoryAccount(task);
            try (OffHeapFloats a = new OffHeapFloats(100_000, "block a", account)) {
                assertEquals(400_000, task.getAllocatedMemory());
                assertEquals((1 << 20) - 400_000, account.available());
                MemoryBudgetExceededException e = assertThrows(MemoryBudgetExceededException.class,
                        () -> new OffHeapFloats(200_000, "block b", account));
                assertTrue(e.getMessage().contains("block b"), e.getMessage());
                assertEquals(400_000, task.getAllocatedMemory(), "a refused block holds nothing");
            }
            assertEquals(0, task.getAllocatedMemory());
        }
    }
}
