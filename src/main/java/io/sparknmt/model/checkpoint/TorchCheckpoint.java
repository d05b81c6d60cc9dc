package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.Safetensors;
import io.sparknmt.model.checkpoint.RestrictedUnpickler.Dict;
import io.sparknmt.model.checkpoint.RestrictedUnpickler.Global;
import io.sparknmt.model.checkpoint.RestrictedUnpickler.StorageRef;
import io.sparknmt.model.checkpoint.RestrictedUnpickler.TensorRef;
import io.sparknmt.model.checkpoint.RestrictedUnpickler.Tuple;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A {@code torch.save} state dict ({@code pytorch_model.bin}) in either format, read through
 * {@link RestrictedUnpickler}: nothing in the file is ever executed.
 *
 * <ul>
 *   <li>zip (PyTorch >= 1.6): {@code <prefix>/data.pkl} (the pickle), {@code <prefix>/data/<key>}
 *       (one raw storage each), optional {@code <prefix>/byteorder} ("little" or "big") and
 *       {@code <prefix>/version};</li>
 *   <li>legacy: five pickles in a row (the magic number, protocol 1001, sys info, the state dict,
 *       the storage keys), then for each key an int64 element count and the raw elements.</li>
 * </ul>
 *
 * Tied weights share a storage; views (offset, strides, also non-contiguous) are gathered into
 * row-major float arrays. Storage sizes are checked against the archive before anything is read.
 */
public final class TorchCheckpoint implements TensorSource {

    /** Largest pickle accepted (a state dict's pickle is a few hundred bytes per tensor). */
    static final long MAX_PICKLE_BYTES = 256L * 1024 * 1024;
    static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    private final Path file;
    private final Map<String, TensorRef> tensors;
    private final StorageData data;

    /** Where the bytes of each storage are. */
    private interface StorageData extends AutoCloseable {
        /** {@code n} bytes of storage {@code key} from byte {@code from}. */
        ByteBuffer read(StorageRef s, long from, int n) throws IOException;

        @Override
        void close();
    }

    private TorchCheckpoint(Path file, Map<String, TensorRef> tensors, StorageData data) {
        this.file = file;
        this.tensors = tensors;
        this.data = data;
    }

    /** Opens and validates a torch.save file; tensor data is read by {@link #read}. */
    public static TorchCheckpoint open(Path file) {
        byte[] head = new byte[4];
        try (InputStream in = java.nio.file.Files.newInputStream(file)) {
            int n = in.readNBytes(head, 0, 4);
            if (n < 2) {
                throw new ModelFormatException(file + ": truncated: " + n + " bytes");
            }
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot open: " + e.getMessage(), e);
        }
        if (head[0] == 'P' && head[1] == 'K') {
            return openZip(file);
        }
        if ((head[0] & 0xff) == 0x80) {
            return openLegacy(file);
        }
        throw new ModelFormatException(file + ": neither a torch.save zip archive nor a legacy torch.save pickle "
                + String.format("(starts with %02x %02x)", head[0] & 0xff, head[1] & 0xff));
    }

    // ---------------------------------------------------------------- zip format

    private static TorchCheckpoint openZip(Path file) {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new ModelFormatException(file + ": broken zip archive (truncated?): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                int slash = name.indexOf('/');
                if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                    if (prefix != null) {
                        throw new ModelFormatException(file + ": more than one data.pkl in the archive");
                    }
                    prefix = name.substring(0, slash + 1);
                }
            }
            if (prefix == null) {
                throw new ModelFormatException(file + ": zip archive without <name>/data.pkl: not a torch.save file");
            }
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            ZipEntry bo = zip.getEntry(prefix + "byteorder");
            if (bo != null) {
                String s = new String(readSmall(zip, bo, 16, file), StandardCharsets.US_ASCII).trim();
                order = switch (s) {
                    case "little" -> ByteOrder.LITTLE_ENDIAN;
                    case "big" -> ByteOrder.BIG_ENDIAN;
                    default -> throw new ModelFormatException(file + ": " + prefix + "byteorder is \"" + s + "\"");
                };
            }
            ZipEntry pkl = zip.getEntry(prefix + "data.pkl");
            String where = file + " (" + pkl.getName() + ")";
            final String pfx = prefix;
            Map<String, StorageRef> storages = new HashMap<>();
            Object root;
            try (InputStream in = new BufferedInputStream(zip.getInputStream(pkl))) {
                RestrictedUnpickler u = new RestrictedUnpickler(where, in, Math.min(MAX_PICKLE_BYTES,
                        pkl.getSize() >= 0 ? pkl.getSize() : MAX_PICKLE_BYTES),
                        (pid, w) -> storage(pid, w, storages, 5));
                root = u.load();
            }
            Map<String, TensorRef> tensors = tensorsOf(root, where);
            Map<String, ZipEntry> entries = new HashMap<>();
            for (StorageRef s : storages.values()) {
                ZipEntry e = zip.getEntry(pfx + "data/" + s.key());
                if (e == null) {
                    throw new ModelFormatException(file + ": storage " + s.key() + " (" + pfx + "data/" + s.key()
                            + ") is missing from the archive");
                }
                long need = s.numel() * s.elementSize();
                if (e.getSize() != need) {
                    throw new ModelFormatException(file + ": storage " + s.key() + " claims " + s.numel() + " "
                            + s.dtype() + " elements (" + need + " bytes) but " + e.getName() + " holds " + e.getSize() + " bytes");
                }
                if (e.getMethod() != ZipEntry.STORED && e.getCompressedSize() >= 0
                        && e.getSize() > e.getCompressedSize() * 1100 + 4096) {
                    throw new ModelFormatException(file + ": " + e.getName() + " claims " + e.getSize()
                            + " bytes from " + e.getCompressedSize() + " compressed: impossible for deflate");
                }
                entries.put(s.key(), e);
            }
            checkViews(tensors, file);
            final ByteOrder bytes = order;
            StorageData data = new StorageData() {
                @Override
                public ByteBuffer read(StorageRef s, long from, int n) throws IOException {
                    ZipEntry e = entries.get(s.key());
                    try (InputStream in = zip.getInputStream(e)) {
                        long skipped = in.skip(from);
                        while (skipped < from) {
                            long k = in.skip(from - skipped);
                            if (k <= 0) {
                                if (in.read() < 0) {
                                    throw new ModelFormatException(file + ": " + e.getName() + " is truncated");
                                }
                                k = 1;
                            }
                            skipped += k;
                        }
                        byte[] b = in.readNBytes(n);
                        if (b.length != n) {
                            throw new ModelFormatException(file + ": " + e.getName() + " is truncated");
                        }
                        return ByteBuffer.wrap(b).order(bytes);
                    }
                }

                @Override
                public void close() {
                    try {
                        zip.close();
                    } catch (IOException ignored) {
                        // failing or done
                    }
                }
            };
            return new TorchCheckpoint(file, tensors, data);
        } catch (IOException e) {
            closeQuietly(zip);
            throw new ModelFormatException(file + ": read failed (truncated archive?): " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private static byte[] readSmall(ZipFile zip, ZipEntry e, int max, Path file) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes(max + 1);
            if (b.length > max) {
                throw new ModelFormatException(file + ": " + e.getName() + " is longer than " + max + " bytes");
            }
            return b;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // already failing
        }
    }

    /**
     * Persistent id of a storage: {@code ('storage', <torch.XStorage>, key, location, numel)}, plus a
     * sixth entry (view metadata, must be None) in the legacy format.
     */
    private static StorageRef storage(Tuple pid, String where, Map<String, StorageRef> seen, int arity) {
        Object[] a = pid.items;
        if (a.length != arity || !"storage".equals(a[0])) {
            throw new ModelFormatException(where + ": persistent id is not ('storage', type, key, location, numel"
                    + (arity == 6 ? ", view" : "") + ") but a tuple of " + a.length);
        }
        if (!(a[1] instanceof Global g) || !g.module().equals("torch")
                || !RestrictedUnpickler.STORAGE_TYPES.containsKey(g.name())) {
            throw new ModelFormatException(where + ": storage type " + RestrictedUnpickler.describe(a[1])
                    + " is not a typed torch storage");
        }
        if (!(a[2] instanceof String key) || key.isEmpty() || key.length() > 64 || key.contains("/") || key.contains("..")) {
            throw new ModelFormatException(where + ": storage key " + RestrictedUnpickler.describe(a[2]) + " is not a plain name");
        }
        if (!(a[4] instanceof Long numel) || numel < 0) {
            throw new ModelFormatException(where + ": storage " + key + " has element count " + RestrictedUnpickler.describe(a[4]));
        }
        if (arity == 6 && a[5] != RestrictedUnpickler.NONE) {
            throw new ModelFormatException(where + ": storage " + key + " is a view of another storage "
                    + "(torch < 1.0 checkpoints): not supported");
        }
        Object[] t = RestrictedUnpickler.STORAGE_TYPES.get(g.name());
        int es = (Integer) t[1];
        if (numel > Long.MAX_VALUE / 8) {
            throw new ModelFormatException(where + ": storage " + key + " element count " + numel + " overflows");
        }
        StorageRef s = new StorageRef(key, (String) t[0], es, numel);
        StorageRef prev = seen.putIfAbsent(key, s);
        if (prev != null && !prev.equals(s)) {
            throw new ModelFormatException(where + ": storage " + key + " is named as " + prev.dtype() + " x "
                    + prev.numel() + " and as " + s.dtype() + " x " + s.numel());
        }
        return prev != null ? prev : s;
    }

    private static Map<String, TensorRef> tensorsOf(Object root, String where) {
        if (!(root instanceof Dict d)) {
            throw new ModelFormatException(where + ": the pickle holds a " + RestrictedUnpickler.describe(root)
                    + ", not a state dict");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : d.entrySet()) {
            if (!(e.getValue() instanceof TensorRef t)) {
                throw new ModelFormatException(where + ": entry " + e.getKey() + " is a "
                        + RestrictedUnpickler.describe(e.getValue()) + ", not a tensor"
                        + (e.getValue() instanceof Dict ? " (a nested checkpoint; save model.state_dict() itself)" : ""));
            }
            out.put(e.getKey(), t);
        }
        return Collections.unmodifiableMap(out);
    }

    /** Every view must lie inside its storage and fit one Java array. */
    private static void checkViews(Map<String, TensorRef> tensors, Path file) {
        for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
            TensorRef t = e.getValue();
            long n;
            long last = t.offset();
            try {
                n = t.elements();
                for (int i = 0; i < t.size().length; i++) {
                    if (t.size()[i] > 0) {
                        last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
                    }
                }
            } catch (ArithmeticException ex) {
                throw new ModelFormatException(file + ": tensor " + e.getKey() + " shape " + Arrays.toString(t.size()) + " overflows");
            }
            if (n > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(file + ": tensor " + e.getKey() + ": " + n + " elements exceed one Java array");
            }
            if (n > 0 && last >= t.storage().numel()) {
                throw new ModelFormatException(file + ": tensor " + e.getKey() + " (offset " + t.offset() + ", size "
                        + Arrays.toString(t.size()) + ", stride " + Arrays.toString(t.stride()) + ") reaches element "
                        + last + " of storage " + t.storage().key() + ", which has " + t.storage().numel());
            }
        }
    }

    // ---------------------------------------------------------------- legacy format

    private static TorchCheckpoint openLegacy(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            long size = ch.size();
            CountingInput in = new CountingInput(new BufferedInputStream(Channels.newInputStream(ch.position(0)), 1 << 16));
            Object magic = pickle(file + " (legacy magic number)", in, null);
            if (!(magic instanceof BigInteger m && m.equals(LEGACY_MAGIC))) {
                throw new ModelFormatException(file + ": not a torch.save file: the first pickle is "
                        + RestrictedUnpickler.describe(magic) + ", not torch's magic number");
            }
            Object proto = pickle(file + " (legacy protocol version)", in, null);
            if (!(proto instanceof Long p && p == 1001)) {
                throw new ModelFormatException(file + ": legacy protocol version " + RestrictedUnpickler.describe(proto)
                        + ", expected 1001");
            }
            Object sys = pickle(file + " (legacy sys info)", in, null);
            if (!(sys instanceof Dict info) || !Boolean.TRUE.equals(info.get("little_endian"))) {
                throw new ModelFormatException(file + ": legacy sys info does not say little_endian=True: big-endian "
                        + "legacy checkpoints are not supported");
            }
            Map<String, StorageRef> storages = new HashMap<>();
            String where = file + " (legacy state dict pickle)";
            Object root = pickle(where, in, (pid, w) -> storage(pid, w, storages, 6));
            Map<String, TensorRef> tensors = tensorsOf(root, where);
            Object keysObj = pickle(file + " (legacy storage keys)", in, null);
            if (!(keysObj instanceof List<?> keys)) {
                throw new ModelFormatException(file + ": legacy storage key list is a " + RestrictedUnpickler.describe(keysObj));
            }
            long pos = in.count;
            Map<String, Long> starts = new HashMap<>();
            ByteBuffer count = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (Object k : keys) {
                StorageRef s = k instanceof String key ? storages.get(key) : null;
                if (s == null) {
                    throw new ModelFormatException(file + ": storage key " + RestrictedUnpickler.describe(k)
                            + " is listed but no tensor uses it");
                }
                if (starts.containsKey(s.key())) {
                    throw new ModelFormatException(file + ": storage " + s.key() + " is listed twice");
                }
                if (pos + 8 > size) {
                    throw new ModelFormatException(file + ": truncated: storage " + s.key() + " starts beyond the end of the file");
                }
                count.clear();
                readFully(ch, count, pos, file);
                long n = count.getLong(0);
                if (n != s.numel()) {
                    throw new ModelFormatException(file + ": storage " + s.key() + " claims " + s.numel() + " "
                            + s.dtype() + " elements in the pickle but " + n + " in the data section");
                }
                long bytes = n * s.elementSize();
                if (bytes > size - pos - 8) {
                    throw new ModelFormatException(file + ": truncated: storage " + s.key() + " needs " + bytes
                            + " bytes at byte " + (pos + 8) + " of a " + size + "-byte file");
                }
                starts.put(s.key(), pos + 8);
                pos += 8 + bytes;
            }
            for (StorageRef s : storages.values()) {
                if (!starts.containsKey(s.key())) {
                    throw new ModelFormatException(file + ": storage " + s.key() + " has no data (not in the key list)");
                }
            }
            checkViews(tensors, file);
            StorageData data = new StorageData() {
                @Override
                public ByteBuffer read(StorageRef s, long from, int n) {
                    ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
                    readFully(ch, b, starts.get(s.key()) + from, file);
                    return b;
                }

                @Override
                public void close() {
                    closeQuietly(ch);
                }
            };
            return new TorchCheckpoint(file, tensors, data);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new ModelFormatException(file + ": read failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static Object pickle(String where, CountingInput in, RestrictedUnpickler.PersistentLoader pl) {
        long start = in.count;
        RestrictedUnpickler u = new RestrictedUnpickler(where, in, MAX_PICKLE_BYTES, pl);
        Object o = u.load();
        if (in.count != start + u.position()) {
            throw new IllegalStateException("pickle reader read ahead");
        }
        return o;
    }

    private static final class CountingInput extends InputStream {
        private final InputStream in;
        long count;

        CountingInput(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) {
        try {
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos + buf.position());
                if (r < 0) {
                    throw new ModelFormatException(file + ": truncated: unexpected end of file at byte " + (pos + buf.position()));
                }
            }
            buf.flip();
        } catch (IOException e) {
            throw new ModelFormatException(file + ": read failed: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- tensors

    @Override
    public Path file() {
        return file;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    /** Dtype ("F32", "F16", "BF16", "F64", "I64", ...) and shape of a tensor, for tests and messages. */
    public String dtype(String name) {
        TensorRef t = tensors.get(name);
        return t == null ? null : t.storage().dtype();
    }

    /** Whether two names share one storage (tied weights). */
    public boolean sharesStorage(String a, String b) {
        TensorRef x = tensors.get(a);
        TensorRef y = tensors.get(b);
        return x != null && y != null && x.storage().key().equals(y.storage().key());
    }

    @Override
    public float[] read(String name, int... expectedShape) {
        TensorRef t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(file + ": missing tensor " + name);
        }
        long[] shape = t.size();
        boolean same = shape.length == expectedShape.length;
        for (int i = 0; same && i < shape.length; i++) {
            same = shape[i] == expectedShape[i];
        }
        if (!same) {
            throw new ModelFormatException(file + ": tensor " + name + " has shape " + Arrays.toString(shape)
                    + ", expected " + Arrays.toString(expectedShape));
        }
        StorageRef s = t.storage();
        int es = s.elementSize();
        if (!List.of("F32", "F16", "BF16", "F64").contains(s.dtype())) {
            throw new ModelFormatException(file + ": tensor " + name + " has dtype " + s.dtype()
                    + "; supported: F32, F16, BF16, F64");
        }
        int n = (int) t.elements();
        float[] out = new float[n];
        if (n == 0) {
            return out;
        }
        long last = t.offset();
        for (int i = 0; i < shape.length; i++) {
            last += (shape[i] - 1) * t.stride()[i];
        }
        long span = last - t.offset() + 1;
        if (span * es > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file + ": tensor " + name + " spans " + span + " elements of its storage");
        }
        ByteBuffer b;
        try {
            b = data.read(s, t.offset() * es, (int) (span * es));
        } catch (IOException e) {
            throw new ModelFormatException(file + ": tensor " + name + ": read failed: " + e.getMessage(), e);
        }
        // Row-major walk over the view: idx holds the multi-index, at the element offset in b.
        int rank = shape.length;
        long[] idx = new long[rank];
        long at = 0;
        for (int i = 0; i < n; i++) {
            out[i] = element(b, (int) at, s.dtype(), es);
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                at += t.stride()[d];
                if (idx[d] < shape[d]) {
                    break;
                }
                at -= idx[d] * t.stride()[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    private static float element(ByteBuffer b, int at, String dtype, int es) {
        int p = at * es;
        return switch (dtype) {
            case "F32" -> b.getFloat(p);
            case "F16" -> Safetensors.halfToFloat(b.getShort(p));
            case "BF16" -> Float.intBitsToFloat((b.getShort(p) & 0xffff) << 16);
            case "F64" -> (float) b.getDouble(p);
            default -> throw new IllegalStateException(dtype);
        };
    }

    @Override
    public void close() {
        data.close();
    }

}
