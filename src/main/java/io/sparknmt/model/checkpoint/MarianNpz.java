package io.sparknmt.model.checkpoint;

import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.Safetensors;
import io.sparknmt.model.TensorNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A numpy {@code .npz} (a zip of {@code .npy} arrays) as Marian writes its models, parsed strictly:
 * npy format 1.0-3.0, header dict with exactly {@code descr} (little- or big-endian f2/f4/f8, or
 * u1/i1 for Marian's {@code special:model.yml}), {@code fortran_order} and {@code shape}; the data
 * size is checked against the entry before anything is allocated.
 *
 * <p>{@link #openMapped} presents the arrays under the Hugging Face Marian names, with the mapping
 * of transformers' {@code convert_marian_to_pytorch.py}: per layer ({@code encoder_lN_*},
 * {@code decoder_lN_*}, 1-based) the {@code self_*}, {@code context_*} and {@code ffn_*} tensors,
 * matrices transposed ([in, out] -> [out, in]) and [1, n] rows squeezed; {@code Wemb} (or
 * {@code encoder_Wemb} and {@code decoder_Wemb}) with one zero row appended for the added
 * {@code <pad>} id; {@code decoder_ff_logit_out_b} with a zero appended as {@code final_logits_bias}.
 * No positional table: Marian's are the static sinusoids, recomputed. Any other array is refused,
 * as the converter refuses it.
 */
public final class MarianNpz implements AutoCloseable {

    public static final String CONFIG_KEY = "special:model.yml";

    /** One array's header. {@code dataOffset} is from the start of its .npy entry. */
    public record Array(String name, String descr, boolean fortran, int[] shape, long dataOffset, ZipEntry entry) {
        public long elements() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }

        int width() {
            return descr.charAt(2) - '0';
        }
    }

    private final Path file;
    private final ZipFile zip;
    private final Map<String, Array> arrays;

    private MarianNpz(Path file, ZipFile zip, Map<String, Array> arrays) {
        this.file = file;
        this.zip = zip;
        this.arrays = arrays;
    }

    public Path file() {
        return file;
    }

    public Map<String, Array> arrays() {
        return arrays;
    }

    public static MarianNpz open(Path file) {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new ModelFormatException(file + ": not a readable .npz (zip) archive (truncated?): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            Map<String, Array> arrays = new LinkedHashMap<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                if (e.isDirectory()) {
                    continue;
                }
                if (!e.getName().endsWith(".npy")) {
                    throw new ModelFormatException(file + ": entry " + e.getName() + " is not an .npy array");
                }
                String name = e.getName().substring(0, e.getName().length() - 4);
                if (arrays.containsKey(name)) {
                    throw new ModelFormatException(file + ": array " + name + " appears twice");
                }
                arrays.put(name, header(zip, e, name, file));
            }
            return new MarianNpz(file, zip, Collections.unmodifiableMap(arrays));
        } catch (RuntimeException e) {
            try {
                zip.close();
            } catch (IOException ignored) {
                // already failing
            }
            throw e;
        }
    }

    private static final Pattern HEADER = Pattern.compile(
            "\\{\\s*(?:'(descr|fortran_order|shape)'\\s*:\\s*('[^']*'|True|False|\\([0-9,\\s]*\\))\\s*,?\\s*)"
                    + "(?:'(descr|fortran_order|shape)'\\s*:\\s*('[^']*'|True|False|\\([0-9,\\s]*\\))\\s*,?\\s*)"
                    + "(?:'(descr|fortran_order|shape)'\\s*:\\s*('[^']*'|True|False|\\([0-9,\\s]*\\))\\s*,?\\s*)\\}\\s*");

    private static Array header(ZipFile zip, ZipEntry e, String name, Path file) {
        String where = file + ": array " + name;
        try (InputStream in = zip.getInputStream(e)) {
            byte[] magic = in.readNBytes(10);
            if (magic.length < 10 || (magic[0] & 0xff) != 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new ModelFormatException(where + ": not an .npy array (bad magic or truncated)");
            }
            int major = magic[6];
            long hlen;
            long pre;
            if (major == 1) {
                hlen = (magic[8] & 0xff) | ((magic[9] & 0xff) << 8);
                pre = 10;
            } else if (major == 2 || major == 3) {
                byte[] more = in.readNBytes(2);
                if (more.length < 2) {
                    throw new ModelFormatException(where + ": truncated .npy header");
                }
                hlen = (magic[8] & 0xffL) | ((magic[9] & 0xffL) << 8) | ((more[0] & 0xffL) << 16) | ((more[1] & 0xffL) << 24);
                pre = 12;
            } else {
                throw new ModelFormatException(where + ": .npy format version " + major + " is not 1, 2 or 3");
            }
            if (hlen > 65536) {
                throw new ModelFormatException(where + ": .npy header of " + hlen + " bytes");
            }
            byte[] h = in.readNBytes((int) hlen);
            if (h.length != hlen) {
                throw new ModelFormatException(where + ": truncated .npy header");
            }
            String text = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher m = HEADER.matcher(text);
            if (!m.matches()) {
                throw new ModelFormatException(where + ": .npy header is not {'descr', 'fortran_order', 'shape'}: "
                        + text.strip());
            }
            Map<String, String> kv = new LinkedHashMap<>();
            for (int g = 1; g <= 5; g += 2) {
                if (kv.put(m.group(g), m.group(g + 1)) != null) {
                    throw new ModelFormatException(where + ": .npy header repeats " + m.group(g));
                }
            }
            String descr = kv.get("descr");
            descr = descr.substring(1, descr.length() - 1);
            if (!descr.matches("[<>]f[248]|\\|[ui]1")) {
                throw new ModelFormatException(where + ": dtype '" + descr + "' is not supported (float16/32/64, or bytes)");
            }
            boolean fortran = kv.get("fortran_order").equals("True");
            String dims = kv.get("shape").replaceAll("[()\\s]", "");
            int[] shape = dims.isEmpty() ? new int[0] : Arrays.stream(dims.split(",")).filter(s -> !s.isEmpty())
                    .mapToLong(s -> {
                        try {
                            return Long.parseLong(s);
                        } catch (NumberFormatException ex) {
                            return -1;
                        }
                    }).mapToInt(v -> {
                        if (v < 0 || v > Integer.MAX_VALUE) {
                            throw new ModelFormatException(where + ": bad dimension in shape " + kv.get("shape"));
                        }
                        return (int) v;
                    }).toArray();
            long n = 1;
            try {
                for (int d : shape) {
                    n = Math.multiplyExact(n, d);
                }
                long bytes = Math.multiplyExact(n, descr.charAt(2) - '0');
                if (n > Integer.MAX_VALUE - 8) {
                    throw new ModelFormatException(where + ": " + n + " elements exceed one Java array");
                }
                long size = e.getSize();
                if (size >= 0 && size != pre + hlen + bytes) {
                    throw new ModelFormatException(where + ": shape " + Arrays.toString(shape) + " of " + descr + " needs "
                            + bytes + " data bytes but the entry holds " + (size - pre - hlen));
                }
                if (e.getMethod() != ZipEntry.STORED && e.getCompressedSize() >= 0 && bytes > e.getCompressedSize() * 1100 + 4096) {
                    throw new ModelFormatException(where + ": " + bytes + " bytes cannot come from "
                            + e.getCompressedSize() + " deflated bytes");
                }
            } catch (ArithmeticException ex) {
                throw new ModelFormatException(where + ": shape " + Arrays.toString(shape) + " overflows");
            }
            if (fortran && shape.length > 2) {
                throw new ModelFormatException(where + ": Fortran-ordered arrays of rank " + shape.length + " are not supported");
            }
            return new Array(name, descr, fortran, shape, pre + hlen, e);
        } catch (IOException ex) {
            throw new ModelFormatException(where + ": read failed: " + ex.getMessage(), ex);
        }
    }

    /** The raw bytes of a u1/i1 array (Marian's embedded YAML config). */
    public byte[] bytes(String name) {
        Array a = arrays.get(name);
        if (a == null) {
            throw new ModelFormatException(file + ": missing array " + name);
        }
        if (!a.descr().endsWith("1")) {
            throw new ModelFormatException(file + ": array " + name + " is " + a.descr() + ", not bytes");
        }
        return data(a);
    }

    private byte[] data(Array a) {
        int n = (int) (a.elements() * a.width());
        try (InputStream in = zip.getInputStream(a.entry())) {
            in.skipNBytes(a.dataOffset());
            byte[] b = in.readNBytes(n);
            if (b.length != n || in.read() >= 0) {
                throw new ModelFormatException(file + ": array " + a.name() + " has " + (b.length != n ? "fewer" : "more")
                        + " data bytes than its shape " + Arrays.toString(a.shape()) + " needs");
            }
            return b;
        } catch (IOException e) {
            throw new ModelFormatException(file + ": array " + a.name() + ": read failed (truncated?): " + e.getMessage(), e);
        }
    }

    /** An array as float32 in C (row-major) order. */
    public float[] floats(String name) {
        Array a = arrays.get(name);
        if (a == null) {
            throw new ModelFormatException(file + ": missing array " + name);
        }
        if (a.descr().charAt(1) != 'f') {
            throw new ModelFormatException(file + ": array " + name + " is " + a.descr() + ", not floating point");
        }
        ByteBuffer b = ByteBuffer.wrap(data(a)).order(a.descr().charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int n = (int) a.elements();
        float[] out = new float[n];
        int w = a.width();
        for (int i = 0; i < n; i++) {
            out[i] = switch (w) {
                case 2 -> Safetensors.halfToFloat(b.getShort(2 * i));
                case 4 -> b.getFloat(4 * i);
                default -> (float) b.getDouble(8 * i);
            };
        }
        if (a.fortran() && a.shape().length == 2) {
            int r = a.shape()[0];
            int c = a.shape()[1];
            float[] t = new float[n];
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    t[i * c + j] = out[j * r + i];
                }
            }
            out = t;
        }
        return out;
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    // ------------------------------------------------------------------ mapping

    /** Marian layer-tensor suffix -> Hugging Face suffix (after {@code model.encoder.layers.N}). */
    static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("self_Wq", ".self_attn.q_proj.weight"), Map.entry("self_bq", ".self_attn.q_proj.bias"),
            Map.entry("self_Wk", ".self_attn.k_proj.weight"), Map.entry("self_bk", ".self_attn.k_proj.bias"),
            Map.entry("self_Wv", ".self_attn.v_proj.weight"), Map.entry("self_bv", ".self_attn.v_proj.bias"),
            Map.entry("self_Wo", ".self_attn.out_proj.weight"), Map.entry("self_bo", ".self_attn.out_proj.bias"),
            Map.entry("self_Wo_ln_scale", ".self_attn_layer_norm.weight"),
            Map.entry("self_Wo_ln_bias", ".self_attn_layer_norm.bias"),
            Map.entry("context_Wq", ".encoder_attn.q_proj.weight"), Map.entry("context_bq", ".encoder_attn.q_proj.bias"),
            Map.entry("context_Wk", ".encoder_attn.k_proj.weight"), Map.entry("context_bk", ".encoder_attn.k_proj.bias"),
            Map.entry("context_Wv", ".encoder_attn.v_proj.weight"), Map.entry("context_bv", ".encoder_attn.v_proj.bias"),
            Map.entry("context_Wo", ".encoder_attn.out_proj.weight"), Map.entry("context_bo", ".encoder_attn.out_proj.bias"),
            Map.entry("context_Wo_ln_scale", ".encoder_attn_layer_norm.weight"),
            Map.entry("context_Wo_ln_bias", ".encoder_attn_layer_norm.bias"),
            Map.entry("ffn_W1", ".fc1.weight"), Map.entry("ffn_b1", ".fc1.bias"),
            Map.entry("ffn_W2", ".fc2.weight"), Map.entry("ffn_b2", ".fc2.bias"),
            Map.entry("ffn_ffn_ln_scale", ".final_layer_norm.weight"),
            Map.entry("ffn_ffn_ln_bias", ".final_layer_norm.bias"));

    public static final String BIAS_KEY = "decoder_ff_logit_out_b";
    private static final Pattern LAYER = Pattern.compile("(encoder|decoder)_l([1-9][0-9]{0,3})_(.+)");

    /** Opens an .npz and presents it under the Hugging Face names (see the class comment). */
    public static TensorSource openMapped(Path file) {
        MarianNpz npz = open(file);
        try {
            return new Mapped(npz);
        } catch (RuntimeException e) {
            npz.close();
            throw e;
        }
    }

    /** Hugging Face name -> (Marian name, how): 'T' transpose, 'S' squeeze, 'E' embedding + pad row, 'B' bias + 0. */
    private static final class Mapped implements TensorSource {
        private final MarianNpz npz;
        private final Map<String, String[]> map = new LinkedHashMap<>();

        Mapped(MarianNpz npz) {
            this.npz = npz;
            Path file = npz.file;
            for (String n : new TreeSet<>(npz.arrays.keySet())) {
                Matcher m = LAYER.matcher(n);
                if (n.equals(CONFIG_KEY)) {
                    continue;
                } else if (n.equals("Wemb")) {
                    map.put(TensorNames.SHARED, new String[]{n, "E"});
                } else if (n.equals("encoder_Wemb")) {
                    map.put(TensorNames.ENCODER_EMBED, new String[]{n, "E"});
                } else if (n.equals("decoder_Wemb")) {
                    map.put(TensorNames.DECODER_EMBED, new String[]{n, "E"});
                } else if (n.equals(BIAS_KEY)) {
                    map.put(TensorNames.FINAL_LOGITS_BIAS, new String[]{n, "B"});
                } else if (m.matches() && LAYER_NAMES.containsKey(m.group(3))
                        && (m.group(1).equals("decoder") || !m.group(3).startsWith("context_"))) {
                    String hf = TensorNames.layer(m.group(1).equals("decoder"), Integer.parseInt(m.group(2)) - 1)
                            + LAYER_NAMES.get(m.group(3));
                    map.put(hf, new String[]{n, npz.arrays.get(n).shape().length == 2 && m.group(3).contains("_W")
                            && !m.group(3).contains("_ln_") ? "T" : "S"});
                } else {
                    String why = n.equals("Wpos") ? " (trained positions; transformers' Marian runs static sinusoids only)"
                            : n.equals("decoder_ff_logit_out_Wt") ? " (an output layer not tied to the embeddings)"
                            : n.startsWith("encoder_emb_ln") || n.startsWith("decoder_emb_ln") ? " (embedding layer norm)"
                            : "";
                    throw new ModelFormatException(file + ": Marian tensor " + n + " has no Hugging Face Marian "
                            + "counterpart" + why + "; transformers' converter refuses it too");
                }
            }
            if (!map.containsKey(TensorNames.FINAL_LOGITS_BIAS)) {
                throw new ModelFormatException(file + ": Marian tensor " + BIAS_KEY + " is missing");
            }
        }

        @Override
        public Path file() {
            return npz.file;
        }

        @Override
        public Set<String> names() {
            return Collections.unmodifiableSet(map.keySet());
        }

        @Override
        public float[] read(String name, int... expected) {
            String[] how = map.get(name);
            if (how == null) {
                throw new ModelFormatException(npz.file + ": missing tensor " + name);
            }
            Array a = npz.arrays.get(how[0]);
            int[] s = a.shape();
            String where = npz.file + ": Marian tensor " + how[0] + " (" + name + ")";
            switch (how[1]) {
                case "T" -> {
                    if (expected.length != 2 || s[0] != expected[1] || s[1] != expected[0]) {
                        throw new ModelFormatException(where + " has shape " + Arrays.toString(s)
                                + ", expected [in, out] = [" + (expected.length == 2 ? expected[1] + ", " + expected[0] : "?") + "]");
                    }
                    float[] v = npz.floats(how[0]);
                    float[] t = new float[v.length];
                    int rows = s[0];
                    int cols = s[1];
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) {
                            t[j * rows + i] = v[i * cols + j];
                        }
                    }
                    return t;
                }
                case "S" -> {
                    long want = 1;
                    for (int d : expected) {
                        want *= d;
                    }
                    boolean ok = expected.length == 1 && (Arrays.equals(s, new int[]{1, expected[0]})
                            || Arrays.equals(s, new int[]{expected[0]}) || Arrays.equals(s, new int[]{expected[0], 1}));
                    if (!ok) {
                        throw new ModelFormatException(where + " has shape " + Arrays.toString(s) + ", expected [1, " + want + "]");
                    }
                    return npz.floats(how[0]);
                }
                case "E" -> {
                    if (expected.length != 2 || s.length != 2 || s[0] + 1 != expected[0] || s[1] != expected[1]) {
                        throw new ModelFormatException(where + " has shape " + Arrays.toString(s) + "; with the added <pad> row"
                                + " the model needs " + Arrays.toString(expected));
                    }
                    return Arrays.copyOf(npz.floats(how[0]), expected[0] * expected[1]);
                }
                default -> { // "B"
                    if (expected.length != 2 || expected[0] != 1 || !Arrays.equals(s, new int[]{1, expected[1] - 1})) {
                        throw new ModelFormatException(where + " has shape " + Arrays.toString(s) + "; with the added <pad> entry"
                                + " the model needs " + Arrays.toString(expected));
                    }
                    return Arrays.copyOf(npz.floats(how[0]), expected[1]);
                }
            }
        }

        @Override
        public void close() {
            npz.close();
        }
    }
}
