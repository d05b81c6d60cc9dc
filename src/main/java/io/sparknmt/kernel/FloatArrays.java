package io.sparknmt.kernel;

/** The grow-only heap buffers of scratch memory: kept, and replaced only when too small. */
public final class FloatArrays {
    private FloatArrays() {
    }

    /** {@code a} when it holds {@code n} floats, else a new array of at least {@code n} (and a quarter more than {@code a}). */
    public static float[] ensure(float[] a, int n) {
        return a.length >= n ? a : new float[Math.max(n, a.length + a.length / 4)];
    }
}
