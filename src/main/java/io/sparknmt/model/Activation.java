package io.sparknmt.model;

import io.sparknmt.kernel.Kernels;

/** The feed-forward activations Marian checkpoints use ({@code activation_function}). */
public enum Activation {
    /** x * sigmoid(x); config names "swish" and "silu". */
    SWISH,
    RELU,
    /** Exact GELU with erf. */
    GELU,
    /** Tanh approximation ("gelu_new"). */
    GELU_NEW;

    public static Activation fromConfig(String name) {
        return switch (name) {
            case "swish", "silu" -> SWISH;
            case "relu" -> RELU;
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> GELU_NEW;
            default -> throw new ModelFormatException("config.json: activation_function \"" + name
                    + "\" is not supported (expected swish, silu, relu, gelu or gelu_new)");
        };
    }

    /** Applies the activation in place to {@code x[off, off + len)}. */
    public void applyInPlace(Kernels kernels, float[] x, int off, int len) {
        switch (this) {
            case SWISH -> kernels.swish(x, off, len);
            case RELU -> {
                for (int i = off; i < off + len; i++) {
                    x[i] = Math.max(0f, x[i]);
                }
            }
            case GELU -> {
                for (int i = off; i < off + len; i++) {
                    double v = x[i];
                    x[i] = (float) (0.5 * v * (1.0 + erf(v / Math.sqrt(2.0))));
                }
            }
            case GELU_NEW -> {
                double c = Math.sqrt(2.0 / Math.PI);
                for (int i = off; i < off + len; i++) {
                    double v = x[i];
                    x[i] = (float) (0.5 * v * (1.0 + StrictMath.tanh(c * (v + 0.044715 * v * v * v))));
                }
            }
            default -> throw new IllegalStateException(name());
        }
    }

    /** erf to about 1e-13: Maclaurin series below 2.5, the erfc continued fraction above. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // Maclaurin series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax;
            double sum = ax;
            double x2 = ax * ax;
            for (int n = 1; n < 60; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2.0 / Math.sqrt(Math.PI) * sum;
        } else {
            // Continued fraction for erfc, converges fast for x >= 2.5.
            double f = 0.0;
            for (int n = 60; n >= 1; n--) {
                f = n / 2.0 / (ax + f);
            }
            r = 1.0 - StrictMath.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }
}
