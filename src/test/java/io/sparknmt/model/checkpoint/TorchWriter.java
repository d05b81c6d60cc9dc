package io.sparknmt.model.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes state dicts as torch.save does (zip format with archive/data.pkl and
 * archive/data/N, or the legacy pickle stream), with the opcodes torch's pickler emits, so that
 * big fixtures (the sample model) need not be committed. Checked against real torch.save files
 * in TorchCheckpointTest. Tensors named in {@link #tie} share the storage of another tensor.
 */
public final class TorchWriter {
    private record T(String dtype, int[] shape, float[] values) {
    }

    private final Map<String, T> tensors = new LinkedHashMap<>();
    private final Map<String, String> ties = new LinkedHashMap<>();

    public TorchWriter put(String name, String dtype, int[] shape, float[] values) {
        tensors.put(name, new T(dtype, shape, values));
        return this;
    }

    /** {@code alias} is saved as the same storage and view as {@code target}. */
    public TorchWriter tie(String alias, String target) {
        ties.put(alias, target);
        return this;
    }

    public void writeZip(Path file) throws IOException {
        List<byte[]> storages = new ArrayList<>();
        byte[] pkl = pickle(storages, false);
        String prefix = "archive/";
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            stored(z, prefix + "data.pkl", pkl);
            stored(z, prefix + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < storages.size(); i++) {
                stored(z, prefix + "data/" + i, storages.get(i));
            }
            stored(z, prefix + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    public void writeLegacy(Path file) throws IOException {
        List<byte[]> storages = new ArrayList<>();
        byte[] pkl = pickle(storages, true);
        try (OutputStream os = Files.newOutputStream(file)) {
            Pickle p = new Pickle();
            p.proto().long1(TorchCheckpoint.LEGACY_MAGIC.toByteArray()).stop();
            p.proto().int2(1001).stop();
            p.proto().op('}').op('(').str("protocol_version").int2(1001).str("little_endian").op(0x88)
                    .str("type_sizes").op('}').op('(').str("short").int1(2).str("int").int1(4).str("long").int1(4)
                    .op('u').op('u').stop();
            os.write(p.bytes());
            os.write(pkl);
            Pickle keys = new Pickle().proto().op(']').op('(');
            for (int i = 0; i < storages.size(); i++) {
                keys.str(Integer.toString(i));
            }
            keys.op('e').stop();
            os.write(keys.bytes());
            for (int i = 0; i < storages.size(); i++) {
                byte[] s = storages.get(i);
                int es = elementSize(dtypeOfStorage.get(i));
                os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(s.length / es).array());
                os.write(s);
            }
        }
    }

    private final List<String> dtypeOfStorage = new ArrayList<>();

    private byte[] pickle(List<byte[]> storages, boolean legacy) {
        dtypeOfStorage.clear();
        Pickle p = new Pickle().proto().global("collections", "OrderedDict").op(')').op('R').op('(');
        Map<String, Integer> storageOf = new LinkedHashMap<>();
        for (Map.Entry<String, T> e : tensors.entrySet()) {
            storageOf.put(e.getKey(), storages.size());
            storages.add(encode(e.getValue().dtype(), e.getValue().values()));
            dtypeOfStorage.add(e.getValue().dtype());
        }
        List<String> order = new ArrayList<>(tensors.keySet());
        order.addAll(ties.keySet());
        for (String name : order) {
            String src = ties.getOrDefault(name, name);
            T t = tensors.get(src);
            int key = storageOf.get(src);
            p.str(name).global("torch._utils", "_rebuild_tensor_v2").op('(');
            p.op('(').str("storage").global("torch", storageClass(t.dtype())).str(Integer.toString(key)).str("cpu")
                    .int4(t.values().length);
            if (legacy) {
                p.op('N');
            }
            p.op('t').op('Q').int1(0);
            p.op('(');
            for (int d : t.shape()) {
                p.int4(d);
            }
            p.op('t').op('(');
            int stride = 1;
            int[] strides = new int[t.shape().length];
            for (int i = strides.length - 1; i >= 0; i--) {
                strides[i] = stride;
                stride *= t.shape()[i];
            }
            for (int s : strides) {
                p.int4(s);
            }
            p.op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        }
        p.op('u').stop();
        return p.bytes();
    }

    static String storageClass(String dtype) {
        return switch (dtype) {
            case "F32" -> "FloatStorage";
            case "F16" -> "HalfStorage";
            case "BF16" -> "BFloat16Storage";
            default -> throw new IllegalArgumentException(dtype);
        };
    }

    static int elementSize(String dtype) {
        return dtype.equals("F32") ? 4 : 2;
    }

    static byte[] encode(String dtype, float[] v) {
        return io.sparknmt.model.SafetensorsWriterAccess.encode(dtype, v);
    }

    private static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        MarianNativeWriter.stored(z, name, data);
    }

    /** A pickle opcode emitter (protocol 2), also used by the hostile-input tests. */
    public static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Pickle op(int op) {
            out.write(op);
            return this;
        }

        public Pickle proto() {
            return op(0x80).op(2);
        }

        public Pickle stop() {
            return op('.');
        }

        public Pickle raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        public Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        public Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        public Pickle int1(int v) {
            return op('K').op(v);
        }

        public Pickle int2(int v) {
            return op('M').op(v & 0xff).op((v >>> 8) & 0xff);
        }

        public Pickle int4(int v) {
            op('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        /** LONG1 of a big-endian two's-complement magnitude (as BigInteger.toByteArray gives). */
        public Pickle long1(byte[] bigEndian) {
            op(0x8a).op(bigEndian.length);
            for (int i = bigEndian.length - 1; i >= 0; i--) {
                out.write(bigEndian[i]);
            }
            return this;
        }

        public byte[] bytes() {
            return out.toByteArray();
        }
    }
}
