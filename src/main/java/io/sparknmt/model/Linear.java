package io.sparknmt.model;

import io.sparknmt.kernel.Kernels;
import io.sparknmt.kernel.PackedWeight;
import io.sparknmt.kernel.WeightFormat;

/** {@code y = x W^T + b} with W packed once for the active kernels. Immutable. */
public final class Linear {
    private final Kernels kernels;
    private final PackedWeight weight; // [out, in], packed
    private final float[] bias;        // [out] or null

    public Linear(Kernels kernels, float[] weight, int out, int in, float[] bias) {
        this(kernels, weight, out, in, bias, WeightFormat.FLOAT);
    }

    /** As the float constructor, with W kept in {@code format} (int8: quantized here, once). */
    public Linear(Kernels kernels, float[] weight, int out, int in, float[] bias, WeightFormat format) {
        this.kernels = kernels;
        this.weight = kernels.pack(weight, out, in, format);
        this.bias = bias;
    }

    /** The packed weight (the only copy this layer keeps). */
    PackedWeight weight() {
        return weight;
    }

    float[] bias() {
        return bias;
    }

    public int in() {
        return weight.k();
    }

    public int out() {
        return weight.n();
    }

    /** x: [rows, in] at xOff; y: [rows, out] at yOff. */
    public void forward(float[] x, int xOff, int rows, float[] y, int yOff) {
        kernels.linear(x, xOff, rows, weight, bias, y, yOff);
    }
}
