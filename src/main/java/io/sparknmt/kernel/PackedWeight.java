package io.sparknmt.kernel;

/**
 * A linear layer's weight, {@code [n = out, k = in]}, in the layout one {@link Kernels}
 * implementation wants. Immutable after packing.
 *
 * @param n        output features (rows of the checkpoint tensor)
 * @param k        input features
 * @param data     the packed values; the layout is private to the kernel that packed it
 * @param panel    the column-panel width the data was packed for (0 = checkpoint row-major)
 */
public record PackedWeight(int n, int k, float[] data, int panel) {
    public PackedWeight {
        if (n <= 0 || k <= 0) {
            throw new IllegalArgumentException("weight shape must be positive, got [" + n + ", " + k + "]");
        }
    }
}
