package io.sparknmt.model;

/** Test helper: the dtype encoders of {@link SafetensorsWriter} for writers in other packages. */
public final class SafetensorsWriterAccess {
    private SafetensorsWriterAccess() {
    }

    public static byte[] encode(String dtype, float[] v) {
        return SafetensorsWriter.encode(dtype, v);
    }

    public static short half(float f) {
        return SafetensorsWriter.floatToHalf(f);
    }
}
