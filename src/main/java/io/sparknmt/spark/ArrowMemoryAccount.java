package io.sparknmt.spark;

import io.sparknmt.kernel.MemoryAccount;
import io.sparknmt.kernel.MemoryBudgetExceededException;
import org.apache.arrow.memory.AllocationReservation;
import org.apache.arrow.memory.BufferAllocator;

/**
 * The task's memory account is its Arrow child allocator: the decoder's off-heap blocks reserve
 * their bytes there (an Arrow reservation counts against the allocator's limit without
 * allocating, and gives the bytes back when closed), beside the Arrow token batches, so
 * --task-memory-mb bounds both together. The
 * blocks must be closed before the allocator is (the task's close does so), or Arrow reports a leak.
 */
final class ArrowMemoryAccount implements MemoryAccount {
    private final BufferAllocator allocator;

    ArrowMemoryAccount(BufferAllocator allocator) {
        this.allocator = allocator;
    }

    @Override
    public Reservation reserve(long bytes, String what) {
        AllocationReservation r = allocator.newReservation();
        boolean ok = true;
        try {
            // add() reserves a power of two and gives it back on close; one add per set bit of
            // the size reserves exactly the size. Arrow 12 (Spark 3.5) takes an int, Arrow 19 a
            // long: bits above 2^30 go in 2^30 pieces, so the same source compiles for both.
            for (long rest = bytes; rest != 0 && ok; rest &= rest - 1) {
                long bit = Long.lowestOneBit(rest);
                for (long done = 0; done < bit && ok; done += Math.min(bit, 1L << 30)) {
                    ok = r.add((int) Math.min(bit, 1L << 30));
                }
            }
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        if (!ok) {
            r.close();
            throw new MemoryBudgetExceededException(what + " (--task-memory-mb)", bytes, allocator.getHeadroom(),
                    allocator.getLimit());
        }
        return r::close;
    }

    @Override
    public long available() {
        return allocator.getHeadroom();
    }
}
