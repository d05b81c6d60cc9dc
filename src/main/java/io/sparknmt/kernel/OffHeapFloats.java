package io.sparknmt.kernel;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A block of native memory holding floats, with one owner who frees it with {@link #close()}.
 * The memory is a direct buffer in the platform's byte order, so bulk copies to and from
 * {@code float[]} are plain memory copies; it is outside the Java heap, not scanned by the
 * garbage collector, and counted against {@code -XX:MaxDirectMemorySize} (in Spark: the
 * executor's memory overhead, not its heap).
 *
 * <p>{@code close()} releases the memory at once through the JDK's buffer cleaner (the call
 * Spark itself uses for its direct buffers); where that call is not available the memory is
 * released when the buffer is garbage-collected. Not thread-safe: one owner at a time.
 *
 * <p>A block is counted against a {@link MemoryAccount} before its memory is allocated, and given
 * back when it is closed: a block past the account's limit is never allocated
 * ({@link MemoryBudgetExceededException}).
 */
public final class OffHeapFloats implements AutoCloseable {
    /** Floats that one direct buffer can address (its capacity is an int count of bytes). */
    public static final int MAX_FLOATS = Integer.MAX_VALUE / Float.BYTES;

    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final Method INVOKE_CLEANER;
    private static final Object UNSAFE;

    static {
        Method m = null;
        Object u = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            u = f.get(null);
            m = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            m = null;
            u = null;
        }
        INVOKE_CLEANER = m;
        UNSAFE = u;
    }

    private ByteBuffer bytes;
    private FloatBuffer floats;
    private final int capacity;
    private final MemoryAccount.Reservation reservation;

    /**
     * @param what names the tensor in the error when the size is out of range
     */
    public OffHeapFloats(long floats, String what) {
        this(floats, what, MemoryAccount.UNLIMITED);
    }

    /**
     * A block counted against {@code account}.
     *
     * @param what names the tensor in the error when the size is out of range or past the account's limit
     */
    public OffHeapFloats(long floats, String what, MemoryAccount account) {
        if (floats < 0 || floats > MAX_FLOATS) {
            throw new IllegalArgumentException(what + ": " + floats + " floats do not fit one off-heap block (at most "
                    + MAX_FLOATS + "); use smaller batches");
        }
        this.capacity = (int) floats;
        long size = (long) Math.max(1, capacity) * Float.BYTES;
        this.reservation = account.reserve(size, what);
        try {
            this.bytes = ByteBuffer.allocateDirect((int) size).order(ByteOrder.nativeOrder());
        } catch (OutOfMemoryError e) {
            reservation.close();
            throw e;
        }
        this.floats = bytes.asFloatBuffer();
        LIVE_BYTES.addAndGet((long) capacity * Float.BYTES);
    }

    /** The floats; absolute get/put only (the buffer's position is not used). */
    public FloatBuffer buffer() {
        if (floats == null) {
            throw new IllegalStateException("off-heap block used after close");
        }
        return floats;
    }

    public int capacity() {
        return capacity;
    }

    public boolean isOpen() {
        return floats != null;
    }

    /** Bytes held by open blocks in this JVM: for tests and logs. */
    public static long liveBytes() {
        return LIVE_BYTES.get();
    }

    /** Frees the memory now; later calls do nothing. */
    @Override
    public void close() {
        if (bytes == null) {
            return;
        }
        ByteBuffer b = bytes;
        bytes = null;
        floats = null;
        LIVE_BYTES.addAndGet(-(long) capacity * Float.BYTES);
        if (INVOKE_CLEANER != null) {
            try {
                INVOKE_CLEANER.invoke(UNSAFE, b);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // left to the garbage collector's cleaner
            }
        }
        reservation.close();
    }

    /** Closes {@code block} when it is null or smaller than {@code floats}, and returns one that fits. */
    public static OffHeapFloats ensure(OffHeapFloats block, long floats, String what) {
        return ensure(block, floats, what, MemoryAccount.UNLIMITED);
    }

    /** As {@link #ensure(OffHeapFloats, long, String)}, the new block counted against {@code account}. */
    public static OffHeapFloats ensure(OffHeapFloats block, long floats, String what, MemoryAccount account) {
        if (block != null && block.isOpen() && block.capacity() >= floats) {
            return block;
        }
        if (block != null) {
            block.close();
        }
        return new OffHeapFloats(floats, what, account);
    }
}
