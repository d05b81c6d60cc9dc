package io.sparknmt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    private ModelFormatException openFails(Path f) {
        return assertThrows(ModelFormatException.class, () -> {
            try (Safetensors st = Safetensors.open(f)) {
                for (Safetensors.Entry e : st.entries().values()) {
                    st.read(e.name(), e.shape());
                }
            }
        });
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "message \"" + e.getMessage() + "\" should mention " + p);
        }
    }

    @Test
    void readsF32F16AndBf16() throws IOException {
        float[] v = {0f, 1f, -2.5f, 0.333251953125f, 65504f, 6.0e-8f};
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().put("a", "F32", new int[]{2, 3}, v).put("b", "F16", new int[]{6}, v)
                .put("c", "BF16", new int[]{3, 2}, new float[]{1f, -2f, 0.5f, 3.140625f, -0f, 256f}).write(f);
        try (Safetensors st = Safetensors.open(f)) {
            assertArrayEquals(v, st.read("a", 2, 3));
            float[] half = st.read("b", 6);
            for (int i = 0; i < v.length; i++) {
                assertEquals(v[i], half[i], Math.abs(v[i]) * 1e-3 + 6e-8, "F16 value " + i);
            }
            assertArrayEquals(new float[]{1f, -2f, 0.5f, 3.140625f, -0f, 256f}, st.read("c", 3, 2));
        }
    }

    @Test
    void halfToFloatCoversSpecialValues() {
        assertEquals(Float.POSITIVE_INFINITY, Safetensors.halfToFloat((short) 0x7c00));
        assertTrue(Float.isNaN(Safetensors.halfToFloat((short) 0x7e00)));
        assertEquals(5.9604645e-8f, Safetensors.halfToFloat((short) 0x0001));
        assertEquals(-2f, Safetensors.halfToFloat((short) 0xc000));
        assertEquals(65504f, Safetensors.halfToFloat((short) 0x7bff));
    }

    @Test
    void truncatedFileBeforeHeaderLength() throws IOException {
        Path f = dir.resolve("t.safetensors");
        Files.write(f, new byte[]{1, 2, 3});
        assertMentions(openFails(f), f.toString(), "truncated");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path f = dir.resolve("h.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(f, b.array());
        assertMentions(openFails(f), f.toString(), "header length");
    }

    @Test
    void negativeHeaderLengthDoesNotAllocate() throws IOException {
        Path f = dir.resolve("n.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        assertMentions(openFails(f), "header length");
    }

    @Test
    void headerIsNotJson() throws IOException {
        Path f = dir.resolve("j.safetensors");
        SafetensorsWriter.writeRaw(f, "{not json", new byte[0]);
        assertMentions(openFails(f), f.toString(), "JSON");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        Path f = dir.resolve("o.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        assertMentions(openFails(f), "tensor w", "data_offsets", "out of range");
    }

    @Test
    void truncatedDataSection() throws IOException {
        Path f = dir.resolve("d.safetensors");
        new SafetensorsWriter().put("w", "F32", new int[]{64}, new float[64]).write(f);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 10));
        assertMentions(openFails(f), "tensor w", "out of range");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = dir.resolve("ov.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", new byte[24]);
        assertMentions(openFails(f), "overlap", "a", "b");
    }

    @Test
    void overlapIsFoundAcrossAnEmptyTensorBetweenTheTwo() throws IOException {
        Path f = dir.resolve("ov0.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[12,28]}}", new byte[28]);
        assertMentions(openFails(f), "overlap", "tensors a [0, 16) and b [12, 28)");
    }

    @Test
    void tensorOverTwoGibIsRefusedByName() throws IOException {
        // A sparse file: 3 GB of data section that takes no disk space.
        Path f = dir.resolve("huge.safetensors");
        long bytes = 3_000_000_000L;
        byte[] header = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[750000000],\"data_offsets\":[0," + bytes + "]}}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            raf.write(header);
            raf.setLength(8 + header.length + bytes);
        }
        assertMentions(openFails(f), "tensor w", "3000000000 bytes", "2 GiB", "not supported");
    }

    @Test
    void shapeAndByteSizeDisagree() throws IOException {
        Path f = dir.resolve("s.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[0,16]}}", new byte[16]);
        assertMentions(openFails(f), "tensor w", "[3,3]", "36 bytes", "16");
    }

    @Test
    void hugeShapeDoesNotAllocate() throws IOException {
        Path f = dir.resolve("big.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,4],\"data_offsets\":[0,16]}}",
                new byte[16]);
        assertMentions(openFails(f), "tensor w");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = dir.resolve("u.safetensors");
        SafetensorsWriter.writeRaw(f, "{\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
        assertMentions(openFails(f), "tensor w", "dtype \"I8\"");
    }

    @Test
    void missingTensorAndWrongShapeNameTheTensor() throws IOException {
        Path f = dir.resolve("w.safetensors");
        new SafetensorsWriter().put("x", "F32", new int[]{2, 2}, new float[4]).write(f);
        try (Safetensors st = Safetensors.open(f)) {
            assertMentions(assertThrows(ModelFormatException.class, () -> st.read("y", 2, 2)), "missing tensor y");
            assertMentions(assertThrows(ModelFormatException.class, () -> st.read("x", 4, 1)),
                    "tensor x has shape [2, 2], expected [4, 1]");
        }
    }
}
