package io.sparknmt.model.checkpoint;

import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.Safetensors;
import io.sparknmt.model.TensorNames;
import io.sparknmt.tokenizer.MarianTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes a Hugging Face Marian directory in Marian-native release form by the
 * inverse of transformers' converter mapping (the Java twin of tools/checkpoints/to_marian.py),
 * and .npz files of arbitrary arrays (numpy's .npy 1.0 layout, stored zip entries).
 */
public final class MarianNativeWriter {
    /** One array: descr ("<f4", "<f2", "|u1", ...), shape, and values (float[] or byte[]). */
    public record Npy(String descr, int[] shape, Object values, boolean fortran) {
        public Npy(String descr, int[] shape, Object values) {
            this(descr, shape, values, false);
        }
    }

    private MarianNativeWriter() {
    }

    public static final String NPZ = "opus.spm-spm.transformer.model1.npz.best-perplexity.npz";
    public static final String VOCAB = "opus.spm-spm.vocab.yml";

    /** The release directory for a shared-vocabulary, tied-embedding HF Marian model with pad as last id. */
    public static void writeRelease(Path hf, Path out, String descr, Map<String, String> modelYmlOverrides) throws IOException {
        MarianConfig c = MarianConfig.read(hf.resolve("config.json"));
        Map<String, Integer> vocab = io.sparknmt.model.ModelFiles.readVocab(hf.resolve("vocab.json"));
        int v = c.vocabSize();
        int pad = c.padId();
        if (pad != v - 1) {
            throw new IllegalArgumentException("pad must be the last id");
        }
        Map<String, Npy> a = new LinkedHashMap<>();
        try (Safetensors st = Safetensors.open(hf.resolve("model.safetensors"))) {
            String embName = st.has(TensorNames.SHARED) ? TensorNames.SHARED : TensorNames.ENCODER_EMBED;
            float[] emb = st.read(embName, v, c.dModel());
            a.put("Wemb", new Npy(descr, new int[]{pad, c.dModel()}, java.util.Arrays.copyOf(emb, pad * c.dModel())));
            float[] bias = st.has(TensorNames.FINAL_LOGITS_BIAS) ? st.read(TensorNames.FINAL_LOGITS_BIAS, 1, v) : new float[v];
            a.put(MarianNpz.BIAS_KEY, new Npy(descr, new int[]{1, pad}, java.util.Arrays.copyOf(bias, pad)));
            for (boolean dec : new boolean[]{false, true}) {
                int layers = dec ? c.decoderLayers() : c.encoderLayers();
                for (int n = 0; n < layers; n++) {
                    String hfPrefix = TensorNames.layer(dec, n);
                    for (Map.Entry<String, String> e : MarianNpz.LAYER_NAMES.entrySet()) {
                        if (!dec && e.getKey().startsWith("context_")) {
                            continue;
                        }
                        String name = hfPrefix + e.getValue();
                        Safetensors.Entry en = st.entries().get(name);
                        int[] s = en.shape();
                        float[] x = st.read(name, s);
                        String mar = (dec ? "decoder_l" : "encoder_l") + (n + 1) + "_" + e.getKey();
                        if (s.length == 2) {
                            float[] t = new float[x.length];
                            for (int i = 0; i < s[0]; i++) {
                                for (int j = 0; j < s[1]; j++) {
                                    t[j * s[0] + i] = x[i * s[1] + j];
                                }
                            }
                            a.put(mar, new Npy(descr, new int[]{s[1], s[0]}, t));
                        } else {
                            a.put(mar, new Npy(descr, new int[]{1, s[0]}, x));
                        }
                    }
                }
            }
        }
        Map<String, String> yml = new LinkedHashMap<>();
        yml.put("type", "transformer");
        yml.put("dim-emb", Integer.toString(c.dModel()));
        yml.put("dim-vocabs", "[" + pad + ", " + pad + "]");
        yml.put("enc-depth", Integer.toString(c.encoderLayers()));
        yml.put("dec-depth", Integer.toString(c.decoderLayers()));
        yml.put("transformer-heads", Integer.toString(c.encoderHeads()));
        yml.put("transformer-dim-ffn", Integer.toString(c.encoderFfn()));
        yml.put("transformer-ffn-activation", "swish");
        for (Map.Entry<String, String> e : MarianRelease.ASSUMED.entrySet()) {
            yml.put(e.getKey(), e.getValue().isEmpty() ? "\"\"" : e.getValue());
        }
        yml.put("transformer-train-position-embeddings", "false");
        yml.put("tied-embeddings-all", "true");
        yml.put("tied-embeddings", "true");
        yml.put("tied-embeddings-src", "false");
        yml.putAll(modelYmlOverrides);
        StringBuilder sb = new StringBuilder();
        yml.forEach((k, val) -> {
            if (val != null) {
                sb.append(k).append(": ").append(val).append('\n');
            }
        });
        byte[] ybytes = (sb + "\0").getBytes(StandardCharsets.UTF_8);
        a.put(MarianNpz.CONFIG_KEY, new Npy("|u1", new int[]{ybytes.length}, ybytes));
        Files.createDirectories(out);
        writeNpz(out.resolve(NPZ), a);
        StringBuilder vy = new StringBuilder();
        vocab.entrySet().stream().filter(e -> !e.getKey().equals("<pad>")).sorted(Map.Entry.comparingByValue())
                .forEach(e -> vy.append(quote(e.getKey())).append(": ").append(e.getValue()).append('\n'));
        Files.writeString(out.resolve(VOCAB), vy);
        Files.writeString(out.resolve("decoder.yml"), "models:\n  - " + NPZ + "\nvocabs:\n  - " + VOCAB + "\n  - " + VOCAB
                + "\nbeam-size: 4\nnormalize: 1\nword-penalty: 0\n");
        Files.copy(hf.resolve("source.spm"), out.resolve("source.spm"));
        Files.copy(hf.resolve("target.spm"), out.resolve("target.spm"));
    }

    /** A YAML double-quoted scalar. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp == '"' || cp == '\\') {
                b.append('\\').appendCodePoint(cp);
            } else if (cp < 0x20 || cp == 0x7f || cp == 0x85 || cp == 0xa0 || cp == 0x2028 || cp == 0x2029) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.append('"').toString();
    }

    public static void writeNpz(Path file, Map<String, Npy> arrays) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, Npy> e : arrays.entrySet()) {
                stored(z, e.getKey() + ".npy", npy(e.getValue()));
            }
        }
    }

    public static byte[] npy(Npy a) {
        StringBuilder shape = new StringBuilder("(");
        for (int d : a.shape()) {
            shape.append(d).append(", ");
        }
        if (a.shape().length > 0) {
            shape.setLength(shape.length() - (a.shape().length == 1 ? 1 : 2));
        }
        shape.append(")");
        String h = "{'descr': '" + a.descr() + "', 'fortran_order': " + (a.fortran() ? "True" : "False") + ", 'shape': "
                + shape + ", }";
        int total = 10 + h.length() + 1;
        int padded = (total + 63) / 64 * 64;
        h = h + " ".repeat(padded - total) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(1);
        out.write(0);
        out.write(h.length() & 0xff);
        out.write(h.length() >>> 8);
        out.writeBytes(h.getBytes(StandardCharsets.US_ASCII));
        if (a.values() instanceof byte[] b) {
            out.writeBytes(b);
        } else {
            float[] v = (float[]) a.values();
            ByteOrder o = a.descr().charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            int w = a.descr().charAt(2) - '0';
            ByteBuffer bb = ByteBuffer.allocate(v.length * w).order(o);
            for (float f : v) {
                switch (w) {
                    case 2 -> bb.putShort(io.sparknmt.model.SafetensorsWriterAccess.half(f));
                    case 4 -> bb.putFloat(f);
                    default -> bb.putDouble(f);
                }
            }
            out.writeBytes(bb.array());
        }
        return out.toByteArray();
    }

    static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }

    /** Zips a release directory under a top folder, as OPUS-MT zips are laid out. */
    public static void zip(Path dir, Path zipFile) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(zipFile));
             Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted(Comparator.naturalOrder()).toList()) {
                z.putNextEntry(new ZipEntry("release/" + f.getFileName()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
    }

    static void copy(Path from, OutputStream to) throws IOException {
        Files.copy(from, to);
    }
}
