package io.sparknmt.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper: writes safetensors files (F32, F16, BF16) and raw, possibly broken, headers. */
public final class SafetensorsWriter {
    private final Map<String, Object[]> tensors = new LinkedHashMap<>(); // name -> {dtype, shape, float[]}

    public SafetensorsWriter put(String name, String dtype, int[] shape, float[] values) {
        tensors.put(name, new Object[]{dtype, shape, values});
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode header = m.createObjectNode();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, Object[]> e : tensors.entrySet()) {
            String dtype = (String) e.getValue()[0];
            int[] shape = (int[]) e.getValue()[1];
            float[] v = (float[]) e.getValue()[2];
            byte[] bytes = encode(dtype, v);
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            var s = t.putArray("shape");
            for (int d : shape) {
                s.add(d);
            }
            var o = t.putArray("data_offsets");
            o.add(data.size());
            o.add(data.size() + bytes.length);
            data.write(bytes);
        }
        writeRaw(file, m.writeValueAsString(header), data.toByteArray());
    }

    /** A file with exactly this header text and data section. */
    public static void writeRaw(Path file, String headerJson, byte[] data) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        try (OutputStream os = Files.newOutputStream(file)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            os.write(h);
            os.write(data);
        }
    }

    static byte[] encode(String dtype, float[] v) {
        switch (dtype) {
            case "F32" -> {
                ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    b.putFloat(f);
                }
                return b.array();
            }
            case "BF16" -> {
                ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    b.putShort((short) ((Float.floatToIntBits(f) + 0x8000) >>> 16)); // round to nearest
                }
                return b.array();
            }
            case "F16" -> {
                ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    b.putShort(floatToHalf(f));
                }
                return b.array();
            }
            default -> {
                return new byte[v.length * 4];
            }
        }
    }

    /** Round-to-nearest-even float -> binary16 for normal values in range (test data only). */
    static short floatToHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        float a = Math.abs(f);
        if (a == 0f) {
            return (short) sign;
        }
        if (a < 6.1035156e-5f) { // subnormal half
            int mant = Math.round(a / 5.9604645e-8f);
            return (short) (sign | mant);
        }
        int exp = Math.getExponent(a);
        int halfExp = exp + 15;
        float scaled = a / (float) Math.pow(2, exp) - 1f; // [0, 1)
        int mant = Math.round(scaled * 1024f);
        if (mant == 1024) {
            mant = 0;
            halfExp++;
        }
        return (short) (sign | (halfExp << 10) | mant);
    }
}
