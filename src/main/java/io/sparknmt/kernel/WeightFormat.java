package io.sparknmt.kernel;

import java.util.Locale;

/**
 * How a model keeps its linear weights ({@code --weights}). {@link #FLOAT} is exact mode (the
 * checkpoint's float32 values, the translations of transformers); {@link #INT8} is opt-in: each
 * output row quantized at load to int8 with its own scale, float32 math ({@link Int8Kernels}); {@link #BF16}
 * is opt-in: each weight rounded to bfloat16 at load, float32 math ({@link Bf16}).
 */
public enum WeightFormat {
    FLOAT,
    INT8,
    BF16;

    /** The flag's spelling: {@code float}, {@code int8} or {@code bf16}. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code float}, {@code int8} or {@code bf16} (any case). */
    public static WeightFormat parse(String s) {
        for (WeightFormat f : values()) {
            if (f.flag().equalsIgnoreCase(s.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown weight format '" + s + "' (expected float, int8 or bf16)");
    }
}
