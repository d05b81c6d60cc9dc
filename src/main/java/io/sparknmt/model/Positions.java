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
        float[] pe = new float[positions * d];
        int sines = (d + 1) / 2;
        int cosines = d / 2;
        for (int pos = 0; pos < positions; pos++) {
            for (int j = 0; j < sines; j++) {
                double angle = pos / StrictMath.pow(10000.0, 2.0 * j / d);
                pe[pos * d + j] = (float) StrictMath.sin(angle);
                if (j < cosines) {
                    pe[pos * d + sines + j] = (float) StrictMath.cos(angle);
                }
            }
        }
        return pe;
    }
}
