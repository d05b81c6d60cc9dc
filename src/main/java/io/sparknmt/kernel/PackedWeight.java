package io.sparknmt.kernel;

/**
 * A linear layer's weight, {@code [n = out, k = in]}, in the layout one {@link Kernels}
 * implementation wants. Immutable after packing.
 *
 * <p>A closed family: each kind of stored weight is one record here, with its fast kernel and
 * its scalar twin: {@link FloatPanels}, {@link Int8Panels} and {@link Bf16Panels}. Another precision
 * is a new record beside them, a new case in each kernel's {@code linear}, and a new pair of twins
 * in the kernel tests, not a flag threaded through the kernels.
 */
public sealed interface PackedWeight permits PackedWeight.FloatPanels, PackedWeight.Int8Panels, PackedWeight.Bf16Panels {

    /** Output features (rows of the checkpoint tensor). */
    int n();

    /** Input features. */
    int k();

    /**
     * Copies row {@code row} of the weight (output feature {@code row}, all {@code k} input
     * features) into {@code out[off, off + k)}, exactly as the checkpoint holds it: so a tied
     * embedding table can be read from the packed {@code lm_head} instead of being kept twice.
     */
    void copyRow(int row, float[] out, int off);

    /** Bytes of the arrays this weight holds (its resident size). */
    long bytes();

    /**
     * float32 values.
     *
     * @param n     output features
     * @param k     input features
     * @param data  the packed values; the layout is private to the kernel that packed it
     * @param panel the column-panel width the data was packed for (0 = checkpoint row-major)
     */
    record FloatPanels(int n, int k, float[] data, int panel) implements PackedWeight {
        public FloatPanels {
            if (n <= 0 || k <= 0) {
                throw new IllegalArgumentException("weight shape must be positive, got [" + n + ", " + k + "]");
            }
        }

        @Override
        public void copyRow(int row, float[] out, int off) {
            if (row < 0 || row >= n) {
                throw new IndexOutOfBoundsException("row " + row + " of a weight with " + n + " rows");
            }
            if (panel == 0) {
                System.arraycopy(data, row * k, out, off, k);
                return;
            }
            int base = (row / panel) * k * panel + row % panel;
            for (int kk = 0; kk < k; kk++) {
                out[off + kk] = data[base + kk * panel];
            }
        }

        @Override
        public long bytes() {
            return 4L * data.length;
        }
    }

    /**
     * int8 values in column panels with one float scale per output feature
     * ({@code w[j][p] ~ q[j][p] * scales[j]}, {@code scales[j] = max|w[j]| / 127}), {@link Int8Kernels}:
     * {@code panel} features per panel, k-major, one byte each; features past {@code n} are zero, and
     * {@code scales} is padded with zeros to whole panels.
     */
    record Int8Panels(int n, int k, byte[] data, float[] scales, int panel) implements PackedWeight {
        public Int8Panels {
            if (n <= 0 || k <= 0) {
                throw new IllegalArgumentException("weight shape must be positive, got [" + n + ", " + k + "]");
            }
            long panels = (n + panel - 1) / Math.max(1, panel);
            if (panel < 1 || data.length != panels * k * panel || scales.length != panels * panel) {
                throw new IllegalArgumentException("int8 weight [" + n + ", " + k + "] in panels of " + panel
                        + " has " + data.length + " values and " + scales.length + " scales");
            }
        }

        @Override
        public void copyRow(int row, float[] out, int off) {
            if (row < 0 || row >= n) {
                throw new IndexOutOfBoundsException("row " + row + " of a weight with " + n + " rows");
            }
            float s = scales[row];
            int base = (row / panel) * k * panel + row % panel;
            for (int kk = 0; kk < k; kk++) {
                out[off + kk] = data[base + kk * panel] * s;
            }
        }

        @Override
        public long bytes() {
            return data.length + 4L * scales.length;
        }
    }

    /**
     * bfloat16 values in column panels, two per int ({@link Bf16}): {@code panel} output features
     * per panel, k-major, feature {@code j} in the low half and {@code j + panel / 2} in the high half.
     */
    record Bf16Panels(int n, int k, int[] data, int panel) implements PackedWeight {
        public Bf16Panels {
            if (n <= 0 || k <= 0) {
                throw new IllegalArgumentException("weight shape must be positive, got [" + n + ", " + k + "]");
            }
            long panels = (n + panel - 1) / panel;
            if (panel < 2 || panel % 2 != 0 || data.length != panels * k * (panel / 2)) {
                throw new IllegalArgumentException("bf16 weight [" + n + ", " + k + "] in panels of " + panel
                        + " has " + data.length + " ints");
            }
        }

        @Override
        public void copyRow(int row, float[] out, int off) {
            if (row < 0 || row >= n) {
                throw new IndexOutOfBoundsException("row " + row + " of a weight with " + n + " rows");
            }
            int half = panel / 2;
            int j = row % panel;
            int base = (row / panel) * k * half + (j % half);
            for (int kk = 0; kk < k; kk++) {
                int v = data[base + kk * half];
                out[off + kk] = Float.intBitsToFloat(j < half ? v << 16 : v & 0xFFFF0000);
            }
        }

        @Override
        public long bytes() {
            return 4L * data.length;
        }
    }
}
