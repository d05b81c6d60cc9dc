package io.sparknmt.model;

import io.sparknmt.kernel.Kernels;

/** Position-wise feed-forward: {@code fc2(act(fc1(x)))}. Immutable. */
public final class FeedForward {
    private final Linear fc1; // [ffn, d]
    private final Linear fc2; // [d, ffn]
    private final Activation activation;
    private final Kernels kernels;

    public FeedForward(Kernels kernels, Linear fc1, Linear fc2, Activation activation) {
        this.kernels = kernels;
        this.fc1 = fc1;
        this.fc2 = fc2;
        this.activation = activation;
    }

    public int inner() {
        return fc1.out();
    }

    /**
     * @param x     [rows, d]
     * @param hidden scratch [rows, ffn]
     * @param out   [rows, d]
     */
    public void forward(float[] x, int rows, float[] hidden, float[] out) {
        fc1.forward(x, 0, rows, hidden, 0);
        activation.applyInPlace(kernels, hidden, 0, rows * fc1.out());
        fc2.forward(hidden, 0, rows, out, 0);
    }
}
