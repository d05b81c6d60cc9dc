package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that understands exactly what a PyTorch state dict needs and nothing more. It
 * never imports, calls or instantiates anything: the few globals a state dict names
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2} and friends, the
 * typed storage classes) are matched by name and turned into plain Java values
 * ({@link TensorRef}, {@link StorageRef}, maps, lists, {@link Tuple}s). Any other global, an
 * unknown opcode, a BUILD on anything but a dict, a NEWOBJ: refused, naming the file and the part.
 *
 * <p>Bounded: the memo, the stack, the mark depth, string lengths, integer widths, the number of
 * opcodes and of container elements are capped, so a hostile pickle fails fast in small memory.
 * Dict keys must be strings (no hashing of attacker-built nested values).
 */
final class RestrictedUnpickler {

    static final int MAX_MEMO = 1 << 20;
    static final int MAX_STACK = 1 << 20;
    static final int MAX_MARK_DEPTH = 1_000;
    static final int MAX_STRING = 1 << 20;
    static final int MAX_INT_BYTES = 16;
    static final long MAX_OPS = 50_000_000L;
    static final long MAX_ELEMENTS = 10_000_000L;

    /** A global the state-dict grammar accepts, by its module and qualified name. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** A pickled tuple. Identity equality on purpose: never hashed or compared deeply. */
    static final class Tuple {
        final Object[] items;

        Tuple(Object[] items) {
            this.items = items;
        }
    }

    /** An {@code OrderedDict} (or plain dict): string keys only. */
    static final class Dict extends LinkedHashMap<String, Object> {
    }

    /** Python's None. */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private static final Object MARK = new Object();

    /** A storage named by a persistent id: element type, its key in the archive, element count. */
    record StorageRef(String key, String dtype, int elementSize, long numel) {
    }

    /** A tensor view over a storage: element offset, sizes and strides (in elements). */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
        long elements() {
            long n = 1;
            for (long d : size) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** Storage classes a state dict may name, with the dtype and element size they hold. */
    static final Map<String, Object[]> STORAGE_TYPES = Map.ofEntries(
            Map.entry("FloatStorage", new Object[]{"F32", 4}),
            Map.entry("HalfStorage", new Object[]{"F16", 2}),
            Map.entry("BFloat16Storage", new Object[]{"BF16", 2}),
            Map.entry("DoubleStorage", new Object[]{"F64", 8}),
            Map.entry("LongStorage", new Object[]{"I64", 8}),
            Map.entry("IntStorage", new Object[]{"I32", 4}),
            Map.entry("ShortStorage", new Object[]{"I16", 2}),
            Map.entry("CharStorage", new Object[]{"I8", 1}),
            Map.entry("ByteStorage", new Object[]{"U8", 1}),
            Map.entry("BoolStorage", new Object[]{"BOOL", 1}));

    private static final Set<String> TORCH_UTILS = Set.of("_rebuild_tensor_v2", "_rebuild_tensor",
            "_rebuild_parameter", "_rebuild_parameter_with_state");

    /** Resolves a persistent id tuple to a storage (or refuses it). */
    interface PersistentLoader {
        Object load(Tuple pid, String where);
    }

    private final String where;
    private final InputStream in;
    private final long maxBytes;
    private final PersistentLoader persistent;
    private long pos;
    private long ops;
    private long elements;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();

    /**
     * @param where      the file (and part) for messages, e.g. {@code x.bin (archive/data.pkl)}
     * @param in         positioned at the pickle; read no further than its STOP
     * @param maxBytes   the most bytes the pickle may take
     * @param persistent resolves BINPERSID ids, or null to refuse them
     */
    RestrictedUnpickler(String where, InputStream in, long maxBytes, PersistentLoader persistent) {
        this.where = where;
        this.in = in;
        this.maxBytes = maxBytes;
        this.persistent = persistent;
    }

    /** Bytes consumed, STOP included. */
    long position() {
        return pos;
    }

    private ModelFormatException fail(String msg) {
        return new ModelFormatException(where + ": " + msg + " (pickle byte " + pos + "); "
                + "spark-nmt reads state dicts only and never runs code from a model file");
    }

    private int u8() throws IOException {
        if (pos >= maxBytes) {
            throw fail("pickle runs past its " + maxBytes + " bytes without a STOP");
        }
        int b = in.read();
        if (b < 0) {
            throw fail("truncated: the pickle ends without a STOP");
        }
        pos++;
        return b;
    }

    private byte[] bytes(long n, String what) throws IOException {
        if (n < 0 || n > MAX_STRING) {
            throw fail(what + " of " + n + " bytes exceeds the limit of " + MAX_STRING);
        }
        if (pos + n > maxBytes) {
            throw fail(what + " of " + n + " bytes runs past the pickle's end");
        }
        byte[] b = in.readNBytes((int) n);
        if (b.length != n) {
            throw fail("truncated inside a " + what);
        }
        pos += n;
        return b;
    }

    private long le(int width) throws IOException {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v |= ((long) u8()) << (8 * i);
        }
        return v;
    }

    private String line(String what) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int b = u8();
            if (b == '\n') {
                return sb.toString();
            }
            if (sb.length() >= 256 || b < 0x20 || b > 0x7e) {
                throw fail("malformed " + what + " name");
            }
            sb.append((char) b);
        }
    }

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw fail("stack deeper than " + MAX_STACK + " (nesting bomb?)");
        }
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw fail("stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object top() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw fail("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) {
            throw fail("no MARK on the stack");
        }
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private void countElements(long n) {
        elements += n;
        if (elements > MAX_ELEMENTS) {
            throw fail("more than " + MAX_ELEMENTS + " container elements (memory bomb?)");
        }
    }

    private void memoPut(long idx, Object o) {
        if (idx < 0 || (memo.size() >= MAX_MEMO && !memo.containsKey(idx))) {
            throw fail("memo larger than " + MAX_MEMO + " entries (memo bomb?)");
        }
        memo.put(idx, o);
    }

    private Object memoGet(long idx) {
        Object o = memo.get(idx);
        if (o == null) {
            throw fail("memo entry " + idx + " read before it was written");
        }
        return o;
    }

    /** Runs the pickle to its STOP and returns the top object. */
    Object load() {
        try {
            while (true) {
                if (++ops > MAX_OPS) {
                    throw fail("more than " + MAX_OPS + " opcodes");
                }
                long at = pos;
                int op = u8();
                switch (op) {
                    case 0x80 -> { // PROTO
                        int p = u8();
                        if (p < 2 || p > 5) {
                            throw fail("pickle protocol " + p + " is not one torch.save writes (2-5)");
                        }
                    }
                    case 0x95 -> le(8); // FRAME: a length hint only
                    case '.' -> { // STOP
                        Object r = pop();
                        if (!stack.isEmpty()) {
                            throw fail("values left on the stack at STOP");
                        }
                        return r;
                    }
                    case '(' -> {
                        if (marks.size() >= MAX_MARK_DEPTH) {
                            throw fail("MARKs nested deeper than " + MAX_MARK_DEPTH + " (nesting bomb?)");
                        }
                        marks.add(stack.size());
                        push(MARK);
                    }
                    case '}' -> push(new Dict());
                    case ']' -> push(new ArrayList<>());
                    case ')' -> push(new Tuple(new Object[0]));
                    case 't' -> {
                        List<Object> items = popToMark();
                        countElements(items.size());
                        push(new Tuple(items.toArray()));
                    }
                    case 0x85, 0x86, 0x87 -> { // TUPLE1..3
                        int n = op - 0x84;
                        Object[] items = new Object[n];
                        for (int i = n - 1; i >= 0; i--) {
                            items[i] = pop();
                        }
                        countElements(n);
                        push(new Tuple(items));
                    }
                    case 'N' -> push(NONE);
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'K' -> push((long) u8());
                    case 'M' -> push(le(2));
                    case 'J' -> push((long) (int) le(4));
                    case 0x8a, 0x8b -> { // LONG1, LONG4
                        long n = op == 0x8a ? u8() : le(4);
                        if (n > MAX_INT_BYTES) {
                            throw fail("integer of " + n + " bytes");
                        }
                        byte[] b = bytes(n, "integer");
                        byte[] be = new byte[b.length];
                        for (int i = 0; i < b.length; i++) {
                            be[i] = b[b.length - 1 - i];
                        }
                        BigInteger v = b.length == 0 ? BigInteger.ZERO : new BigInteger(be);
                        push(v.bitLength() < 64 ? (Object) v.longValue() : v);
                    }
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(le(8))));
                    case 'X' -> push(new String(bytes(le(4), "string"), StandardCharsets.UTF_8));
                    case 0x8c -> push(new String(bytes(u8(), "string"), StandardCharsets.UTF_8));
                    case 0x8d -> push(new String(bytes(le(8), "string"), StandardCharsets.UTF_8));
                    case 'q' -> memoPut(u8(), top());
                    case 'r' -> memoPut(le(4), top());
                    case 0x94 -> memoPut(memo.size(), top()); // MEMOIZE
                    case 'h' -> push(memoGet(u8()));
                    case 'j' -> push(memoGet(le(4)));
                    case '0' -> pop();
                    case '1' -> popToMark();
                    case '2' -> push(top());
                    case 'c' -> {
                        String module = line("module");
                        String name = line("global");
                        push(global(module, name));
                    }
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop();
                        Object module = pop();
                        if (!(module instanceof String m) || !(name instanceof String n)) {
                            throw fail("STACK_GLOBAL with non-string names");
                        }
                        push(global(m, n));
                    }
                    case 'R' -> {
                        Object args = pop();
                        Object fn = pop();
                        push(reduce(fn, args));
                    }
                    case 'Q' -> {
                        Object pid = pop();
                        if (persistent == null) {
                            throw fail("persistent id where none is expected");
                        }
                        if (!(pid instanceof Tuple t)) {
                            throw fail("persistent id is a " + describe(pid) + ", not a tuple");
                        }
                        push(persistent.load(t, where));
                    }
                    case 's' -> {
                        Object v = pop();
                        Object k = pop();
                        setItem(top(), k, v);
                    }
                    case 'u' -> {
                        List<Object> items = popToMark();
                        if (items.size() % 2 != 0) {
                            throw fail("SETITEMS with an odd number of values");
                        }
                        Object d = top();
                        for (int i = 0; i < items.size(); i += 2) {
                            setItem(d, items.get(i), items.get(i + 1));
                        }
                    }
                    case 'a' -> {
                        Object v = pop();
                        append(top(), List.of(v));
                    }
                    case 'e' -> {
                        List<Object> items = popToMark();
                        append(top(), items);
                    }
                    case 'b' -> {
                        Object state = pop();
                        Object obj = top();
                        if (!(obj instanceof Dict)) {
                            throw fail("BUILD on a " + describe(obj) + " (only a state dict's own attributes are accepted)");
                        }
                        if (state != NONE && !(state instanceof Dict)) {
                            throw fail("BUILD of a dict with a " + describe(state) + " state");
                        }
                        // the state dict's _metadata attribute: nothing decoding needs
                    }
                    default -> throw fail(String.format("opcode 0x%02x%s is not part of a state dict", op,
                            op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "")
                            + (op == 0x81 || op == 0x92 || op == 'o' || op == 'i' ? " (it builds an arbitrary object)" : ""));
                }
                if (at == pos) {
                    throw fail("no progress");
                }
            }
        } catch (IOException e) {
            throw new ModelFormatException(where + ": read failed: " + e.getMessage(), e);
        } catch (StackOverflowError | OutOfMemoryError e) {
            throw new ModelFormatException(where + ": pickle too large or too deep to read safely", e);
        }
    }

    private Object global(String module, String name) {
        boolean ok = (module.equals("collections") && name.equals("OrderedDict"))
                || (module.equals("torch._utils") && TORCH_UTILS.contains(name))
                || (module.equals("torch") && STORAGE_TYPES.containsKey(name));
        if (!ok) {
            throw fail("global " + module + "." + name + " is not allowed in a state dict");
        }
        return new Global(module, name);
    }

    private Object reduce(Object fn, Object argsObj) {
        if (!(fn instanceof Global g)) {
            throw fail("call of a " + describe(fn) + ", not an allowed global");
        }
        if (!(argsObj instanceof Tuple t)) {
            throw fail("call of " + g + " with " + describe(argsObj) + " arguments");
        }
        Object[] a = t.items;
        switch (g.name()) {
            case "OrderedDict" -> {
                if (a.length != 0) {
                    throw fail("collections.OrderedDict called with arguments");
                }
                return new Dict();
            }
            case "_rebuild_tensor_v2", "_rebuild_tensor" -> {
                int min = g.name().equals("_rebuild_tensor") ? 4 : 6;
                int max = g.name().equals("_rebuild_tensor") ? 4 : 7;
                if (a.length < min || a.length > max) {
                    throw fail(g + " with " + a.length + " arguments");
                }
                if (!(a[0] instanceof StorageRef s)) {
                    throw fail(g + " of a " + describe(a[0]) + ", not a storage");
                }
                long offset = integer(a[1], "storage offset");
                long[] size = ints(a[2], "size");
                long[] stride = ints(a[3], "stride");
                if (size.length != stride.length) {
                    throw fail(g + ": size " + Arrays.toString(size) + " and stride " + Arrays.toString(stride)
                            + " differ in rank");
                }
                if (a.length > 5 && !(a[5] instanceof Dict h && h.isEmpty())) {
                    throw fail(g + " with backward hooks");
                }
                return new TensorRef(s, offset, size, stride);
            }
            case "_rebuild_parameter", "_rebuild_parameter_with_state" -> {
                int n = g.name().equals("_rebuild_parameter") ? 3 : 4;
                if (a.length != n || !(a[0] instanceof TensorRef)) {
                    throw fail(g + " with unexpected arguments");
                }
                if (!(a[2] instanceof Dict h && h.isEmpty())) {
                    throw fail(g + " with backward hooks");
                }
                if (n == 4 && a[3] != NONE && !(a[3] instanceof Dict)) {
                    throw fail(g + " with a " + describe(a[3]) + " state");
                }
                return a[0];
            }
            default -> throw fail("call of " + g + ", which is only a storage type");
        }
    }

    private long integer(Object o, String what) {
        if (o instanceof Long l && l >= 0) {
            return l;
        }
        throw fail(what + " is " + describe(o) + ", not a non-negative integer");
    }

    private long[] ints(Object o, String what) {
        if (!(o instanceof Tuple t) || t.items.length > 16) {
            throw fail(what + " is " + describe(o) + ", not a tuple of at most 16 integers");
        }
        long[] out = new long[t.items.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(t.items[i], what + " entry");
        }
        return out;
    }

    private void setItem(Object d, Object k, Object v) {
        if (!(d instanceof Dict dict)) {
            throw fail("SETITEM on a " + describe(d));
        }
        if (!(k instanceof String key)) {
            throw fail("dict key is a " + describe(k) + "; a state dict's keys are strings");
        }
        countElements(1);
        dict.put(key, v);
    }

    @SuppressWarnings("unchecked")
    private void append(Object l, List<Object> items) {
        if (!(l instanceof ArrayList<?> list)) {
            throw fail("APPEND on a " + describe(l));
        }
        countElements(items.size());
        ((ArrayList<Object>) list).addAll(items);
    }

    /** A short, non-recursive description of a value for messages. */
    static String describe(Object o) {
        if (o == null || o == MARK) {
            return "mark";
        }
        if (o instanceof String s) {
            return "string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        }
        if (o instanceof Tuple t) {
            return "tuple of " + t.items.length;
        }
        if (o instanceof Dict) {
            return "dict";
        }
        if (o instanceof List<?>) {
            return "list";
        }
        if (o instanceof Global g) {
            return "global " + g;
        }
        if (o instanceof TensorRef) {
            return "tensor";
        }
        if (o instanceof StorageRef) {
            return "storage";
        }
        if (o == NONE) {
            return "None";
        }
        return o.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + o;
    }
}
