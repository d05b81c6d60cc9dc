package io.sparknmt.kernel;

/** A reservation past a {@link MemoryAccount}'s limit: nothing was allocated, and the caller may try smaller. */
public final class MemoryBudgetExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MemoryBudgetExceededException(String what, long bytes, long available, long limit) {
        super(String.format("%s: %d bytes requested, %d of the budget of %d MB left", what, bytes, Math.max(0, available),
                limit >> 20));
    }
}
