package io.sparknmt.model;

/** LayerNorm over the last dimension, eps 1e-5, with gain and bias. Immutable. */
public final class LayerNorm {
    static final double EPS = 1e-5;
    private final float[] gamma; // [d]
    private final float[] beta;  // [d]

    public LayerNorm(float[] gamma, float[] beta) {
        this.gamma = gamma;
        this.beta = beta;
    }

    /** {@code x[r] = LN(x[r] + residual[r])} for each of {@code rows} rows of width d. */
    public void addAndNormInPlace(float[] x, float[] residual, int rows) {
        int d = gamma.length;
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double sum = 0;
            for (int i = 0; i < d; i++) {
                float v = x[o + i] + residual[o + i];
                x[o + i] = v;
                sum += v;
            }
            double mean = sum / d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                double c = x[o + i] - mean;
                var += c * c;
            }
            double inv = 1.0 / Math.sqrt(var / d + EPS);
            for (int i = 0; i < d; i++) {
                x[o + i] = (float) ((x[o + i] - mean) * inv) * gamma[i] + beta[i];
            }
        }
    }
}
