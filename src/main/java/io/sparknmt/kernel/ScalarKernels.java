package io.sparknmt.kernel;

/**
 * Plain loops, obviously right: the reference twin of every fast kernel, and the fallback where
 * the vector module is absent. Transcendentals go through {@link StrictMath} (fdlibm), as
 * everywhere in the engine: {@code Math.exp} and friends are intrinsics whose last bits differ
 * between JDK releases, and a translation's score should not depend on the executor's JDK.
 */
public final class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public PackedWeight pack(float[] w, int n, int k) {
        if (w.length != (long) n * k) {
            throw new IllegalArgumentException("weight has " + w.length + " values, expected " + n + "x" + k);
        }
        return new PackedWeight.FloatPanels(n, k, w, 0);
    }

    @Override
    public void linear(float[] x, int xOff, int m, PackedWeight weight, float[] bias, float[] y, int yOff) {
        if (weight instanceof PackedWeight.Int8Panels q) {
            Int8Kernels.linearRows(x, xOff, m, q, bias, y, yOff);
            return;
        }
        if (weight instanceof PackedWeight.Bf16Panels h) {
            Bf16.linearRows(x, xOff, m, h, bias, y, yOff);
            return;
        }
        if (!(weight instanceof PackedWeight.FloatPanels w)) {
            throw new IllegalArgumentException("no " + name() + " kernel for weights of kind " + weight.getClass().getSimpleName());
        }
        int n = w.n();
        int k = w.k();
        float[] wd = w.data();
        for (int i = 0; i < m; i++) {
            int xr = xOff + i * k;
            int yr = yOff + i * n;
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                int wr = j * k;
                for (int p = 0; p < k; p++) {
                    acc += x[xr + p] * wd[wr + p];
                }
                y[yr + j] = bias == null ? acc : acc + bias[j];
            }
        }
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        float acc = 0f;
        for (int i = 0; i < len; i++) {
            acc += a[aOff + i] * b[bOff + i];
        }
        return acc;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
        for (int i = 0; i < len; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    @Override
    public void scale(float[] x, int off, int len, float alpha) {
        for (int i = 0; i < len; i++) {
            x[off + i] *= alpha;
        }
    }

    @Override
    public float max(float[] x, int off, int len) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = off; i < off + len; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    @Override
    public int argmax(float[] x, int off, int len) {
        int best = 0;
        float max = x[off];
        for (int i = 1; i < len; i++) {
            if (x[off + i] > max) {
                max = x[off + i];
                best = i;
            }
        }
        return best;
    }

    @Override
    public double sumExp(float[] x, int off, int len, float shift) {
        double sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += (float) StrictMath.exp(x[i] - shift);
        }
        return sum;
    }

    @Override
    public void add(float[] x, int off, int len, float c) {
        for (int i = off; i < off + len; i++) {
            x[i] += c;
        }
    }

    @Override
    public void swish(float[] x, int off, int len) {
        for (int i = off; i < off + len; i++) {
            float v = x[i];
            x[i] = v / (1f + (float) StrictMath.exp(-v));
        }
    }

    @Override
    public int nextAbove(float[] x, int from, int to, float add, float threshold) {
        for (int i = from; i < to; i++) {
            if (x[i] + add > threshold) {
                return i;
            }
        }
        return to;
    }

    @Override
    public float expInPlace(float[] x, int off, int len, float shift) {
        float sum = 0f;
        for (int i = off; i < off + len; i++) {
            float e = (float) StrictMath.exp(x[i] - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }
}
