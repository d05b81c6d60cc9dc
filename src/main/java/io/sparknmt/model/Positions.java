package io.sparknmt.model;

/** Marian's static sinusoidal positions: sines in the first half, cosines in the second. */
public final class Positions {
    private Positions() {
    }

    /**
     * {@code PE[pos, j] = sin(pos / 10000^(2j/d))} for {@code j < ceil(d/2)} and
     * {@code PE[pos, ceil(d/2) + j] = cos(pos / 10000^(2j/d))} for {@code j < floor(d/2)},
     * computed in double and rounded to float as transformers' MarianSinusoidalPositionalEmbedding
     * does (for an odd {@code d} the sine half has the extra column).
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

    /**
     * Row {@code pos} of the table ({@code d} floats) into {@code out[off..]}: sines in the first
     * {@code ceil(d/2)} columns, cosines in the other {@code floor(d/2)}, as transformers'
     * MarianSinusoidalPositionalEmbedding (an odd width included).
     */
    public static void sinusoidalRow(int pos, int d, float[] out, int off) {
        int sines = (d + 1) / 2;
        int cosines = d / 2;
        for (int j = 0; j < sines; j++) {
            double angle = pos / StrictMath.pow(10000.0, 2.0 * j / d);
            out[off + j] = (float) StrictMath.sin(angle);
            if (j < cosines) {
                out[off + sines + j] = (float) StrictMath.cos(angle);
            }
        }
    }
}
