package io.sparknmt.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets}, then raw little-endian data. F32, F16 and
 * BF16 (and F64) tensors are converted to float32. Nothing is executed and nothing is allocated before the
 * header has been checked against the file's size, so hostile files fail with a message naming
 * the file and tensor.
 */
public final class Safetensors implements io.sparknmt.model.checkpoint.TensorSource {

    /** Largest header accepted (the format's own limit is 100 MB). */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Largest tensor accepted: one Java byte buffer (the largest Marian tensors are a few hundred MB). */
    static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    /** One tensor's header entry. Offsets are relative to the start of the data section. */
    public record Entry(String name, String dtype, int[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private Safetensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
    }

    /** Opens and validates the header; tensor data is read lazily by {@link #read}. */
    public static Safetensors open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            long size = sizeOf(ch, file);
            if (size < 8) {
                throw new ModelFormatException(file + ": truncated: " + size + " bytes, no room for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
                throw new ModelFormatException(file + ": header length " + Long.toUnsignedString(headerLen)
                        + " is beyond the file (" + size + " bytes) or the 100 MB limit");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8, file);
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(header.array());
            } catch (IOException e) {
                throw new ModelFormatException(file + ": header is not valid JSON: " + e.getMessage(), e);
            }
            if (root == null || !root.isObject()) {
                throw new ModelFormatException(file + ": header is not a JSON object");
            }
            long dataLen = size - 8 - headerLen;
            Map<String, Entry> entries = parseEntries(root, dataLen, file);
            return new Safetensors(file, ch, 8 + headerLen, entries);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static Map<String, Entry> parseEntries(JsonNode root, long dataLen, Path file) {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode t = f.getValue();
            String where = file + ": tensor " + name;
            String dtype = t.path("dtype").asText("");
            int width = switch (dtype) {
                case "F64" -> 8;
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                default -> throw new ModelFormatException(where + " has dtype \"" + dtype
                        + "\"; supported: F64, F32, F16, BF16");
            };
            JsonNode shapeNode = t.path("shape");
            JsonNode offs = t.path("data_offsets");
            if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                throw new ModelFormatException(where + ": header entry needs a shape array and two data_offsets");
            }
            int[] shape = new int[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = shapeNode.get(i).asLong(-1);
                if (!shapeNode.get(i).canConvertToLong() || d < 0 || d > Integer.MAX_VALUE) {
                    throw new ModelFormatException(where + ": bad dimension " + shapeNode.get(i) + " in shape " + shapeNode);
                }
                shape[i] = (int) d;
                try {
                    elements = Math.multiplyExact(elements, d);
                } catch (ArithmeticException e) {
                    throw new ModelFormatException(where + ": shape " + shapeNode + " overflows");
                }
            }
            long begin = offs.get(0).asLong(-1);
            long end = offs.get(1).asLong(-1);
            if (!offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong()
                    || begin < 0 || end < begin || end > dataLen) {
                throw new ModelFormatException(where + ": data_offsets [" + offs.get(0) + ", " + offs.get(1)
                        + "] are out of range for a data section of " + dataLen + " bytes");
            }
            long expectBytes;
            try {
                expectBytes = Math.multiplyExact(elements, width);
            } catch (ArithmeticException e) {
                throw new ModelFormatException(where + ": shape " + shapeNode + " overflows");
            }
            if (end - begin != expectBytes) {
                throw new ModelFormatException(where + ": shape " + shapeNode + " of " + dtype + " needs "
                        + expectBytes + " bytes, data_offsets give " + (end - begin));
            }
            if (expectBytes > MAX_TENSOR_BYTES) {
                throw new ModelFormatException(where + ": " + expectBytes + " bytes; spark-nmt reads tensors of up to "
                        + MAX_TENSOR_BYTES + " bytes (2 GiB) each: not supported");
            }
            out.put(name, new Entry(name, dtype, shape, begin, end));
        }
        // Every pair of non-empty tensors, not only neighbours: sorted by start, each one must begin
        // at or after the furthest end seen so far (an empty entry between two overlapping ones
        // must not hide them from each other).
        List<Entry> sorted = new ArrayList<>(out.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry furthest = null;
        for (Entry cur : sorted) {
            if (cur.end() == cur.begin()) {
                continue;
            }
            if (furthest != null && cur.begin() < furthest.end()) {
                throw new ModelFormatException(file + ": tensors " + furthest.name() + " [" + furthest.begin() + ", "
                        + furthest.end() + ") and " + cur.name() + " [" + cur.begin() + ", " + cur.end() + ") overlap");
            }
            if (furthest == null || cur.end() > furthest.end()) {
                furthest = cur;
            }
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public java.util.Set<String> names() {
        return entries.keySet();
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    @Override
    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /** Reads a tensor as float32, checking its shape against {@code expectedShape}. */
    @Override
    public float[] read(String name, int... expectedShape) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelFormatException(file + ": missing tensor " + name);
        }
        if (!java.util.Arrays.equals(e.shape(), expectedShape)) {
            throw new ModelFormatException(file + ": tensor " + name + " has shape "
                    + java.util.Arrays.toString(e.shape()) + ", expected " + java.util.Arrays.toString(expectedShape));
        }
        int n = (int) e.elements();
        ByteBuffer buf = ByteBuffer.allocate((int) (e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, buf, dataStart + e.begin(), file);
        float[] out = new float[n];
        switch (e.dtype()) {
            case "F32" -> buf.asFloatBuffer().get(out);
            case "F64" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) buf.getDouble(8 * i);
                }
            }
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = halfToFloat(buf.getShort(2 * i));
                }
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((buf.getShort(2 * i) & 0xffff) << 16);
                }
            }
            default -> throw new IllegalStateException(e.dtype());
        }
        return out;
    }

    /** IEEE 754 binary16 to float32, subnormals, infinities and NaN included. */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) {
        try {
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos + buf.position());
                if (r < 0) {
                    throw new ModelFormatException(file + ": truncated: unexpected end of file at byte "
                            + (pos + buf.position()));
                }
            }
            buf.flip();
        } catch (IOException e) {
            throw new ModelFormatException(file + ": read failed: " + e.getMessage(), e);
        }
    }

    private static long sizeOf(FileChannel ch, Path file) {
        try {
            return ch.size();
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot stat: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do: we are already failing
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
