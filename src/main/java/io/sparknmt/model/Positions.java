package io.sparknmt.model;

/** Marian's static sinusoidal positions: sines in the first half, cosines in the second. */
public final class Positions {
    private Positions() {
    }

    /**
     * {@code PE[pos, j] = sin(pos / 10000^(2j/d))} and {@code PE[pos, d/2 + j] = cos(...)} for
     * {@code j < d/2}, computed in double and rounded to float as transformers does.
     *
     * @return {@code [positions, d]} row-major
     */
    public static float[] sinusoidal(int positions, int d) {
        float[] pe = new float[Math.multiplyExact(positions, d)];
        for (int pos = 0; pos < positions; pos++) {
            sinusoidalRow(pos, d, pe, pos * d);
        }
        return pe;
    }

    /** Row {@code pos} of the table ({@code d} floats) into {@code out[off..]}. */
    public static void sinusoidalRow(int pos, int d, float[] out, int off) {
        int half = d / 2;
        for (int j = 0; j < half; j++) {
            double angle = pos / StrictMath.pow(10000.0, 2.0 * j / d);
            out[off + j] = (float) StrictMath.sin(angle);
            out[off + half + j] = (float) StrictMath.cos(angle);
        }
    }
}
