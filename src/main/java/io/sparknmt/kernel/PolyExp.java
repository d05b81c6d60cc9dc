package io.sparknmt.kernel;

/**
 * {@code exp} in float from exact IEEE operations only (fused multiply-add, add, multiply,
 * min/max, integer bit operations), so that the vector kernels can compute it lane by lane and get
 * the same bits in the interpreter, in C1 and in C2 (the Vector API's lanewise {@code EXP} does
 * not: it is SVML once compiled and another routine before). This class is the scalar form of
 * exactly the sequence {@link VectorKernels} runs on vectors; both must stay in step.
 *
 * <p>Method (Cephes' expf): {@code n = round(x / ln 2)} by adding 1.5 * 2^23 in the same FMA,
 * {@code r = x - n ln 2} with ln 2 split in two (Cody-Waite), a degree-5 polynomial for
 * {@code (e^r - 1 - r) / r^2}, then {@code 2^n} built in the exponent bits. Within 2 ulp of the
 * correctly rounded result over {@code [-87, 88]}; below -87 (results under 1.7e-38) it returns
 * 0; above 88 it returns {@code e^88}; NaN stays NaN.
 */
final class PolyExp {
    static final float LO = -87f;
    static final float HI = 88f;
    static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds to an integer, kept in the low mantissa bits. */
    static final float MAGIC = 12582912f;
    static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    static final float LN2_HI = 0.693359375f;
    static final float LN2_LO = -2.12194440e-4f;
    static final float P0 = 1.9875691500e-4f;
    static final float P1 = 1.3981999507e-3f;
    static final float P2 = 8.3334519073e-3f;
    static final float P3 = 4.1665795894e-2f;
    static final float P4 = 1.6666665459e-1f;
    static final float P5 = 5.0000001201e-1f;

    private PolyExp() {
    }

    static float exp(float x) {
        boolean under = x < LO;
        float c = Math.max(Math.min(x, HI), LO);
        float t = Math.fma(c, LOG2E, MAGIC);
        float n = t - MAGIC;
        float r = Math.fma(n, -LN2_HI, c);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = Math.fma(p, r * r, r) + 1f;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) - MAGIC_BITS + 127) << 23);
        return under ? 0f : p * scale;
    }
}
