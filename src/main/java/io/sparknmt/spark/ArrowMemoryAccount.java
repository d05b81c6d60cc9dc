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
            // the size reserves exactly the size
            for (long rest = bytes; rest != 0 && ok; rest &= rest - 1) {
                ok = r.add(Long.lowestOneBit(rest));
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
