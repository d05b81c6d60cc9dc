package io.sparknmt.kernel;

/**
 * Where off-heap memory is counted against a limit before it is allocated (in Spark: the task's
 * Arrow child allocator, so that {@code --task-memory-mb} bounds the token batches and the
 * decoder's caches together). A refused reservation throws {@link MemoryBudgetExceededException},
 * which the caller can recover from (the job splits the batch).
 */
public interface MemoryAccount {

    /** Counts {@code bytes} against the limit, or throws; the reservation gives them back on close. */
    Reservation reserve(long bytes, String what);

    /** Bytes that can still be reserved. */
    long available();

    /** Bytes held by one owner; closing twice is harmless. */
    interface Reservation extends AutoCloseable {
        @Override
        void close();
    }

    /** No limit: what the engine uses outside Spark. */
    MemoryAccount UNLIMITED = new MemoryAccount() {
        @Override
        public Reservation reserve(long bytes, String what) {
            return () -> { };
        }

        @Override
        public long available() {
            return Long.MAX_VALUE;
        }
    };

    /** A plain counting account with a fixed limit (tests, and a standalone engine). */
    static MemoryAccount limited(long limitBytes) {
        return new MemoryAccount() {
            private long used;

            @Override
            public Reservation reserve(long bytes, String what) {
                if (bytes > limitBytes - used) {
                    throw new MemoryBudgetExceededException(what, bytes, limitBytes - used, limitBytes);
                }
                used += bytes;
                return new Reservation() {
                    private boolean open = true;

                    @Override
                    public void close() {
                        if (open) {
                            open = false;
                            used -= bytes;
                        }
                    }
                };
            }

            @Override
            public long available() {
                return limitBytes - used;
            }
        };
    }
}
