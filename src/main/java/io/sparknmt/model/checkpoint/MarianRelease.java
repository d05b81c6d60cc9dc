package io.sparknmt.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A Marian-native model as OPUS-MT and Tatoeba-MT release it (a directory or a {@code .zip}):
 * the {@code .npz} (architecture in its {@code special:model.yml}), {@code decoder.yml}
 * (beam size, file names), {@code *.vocab.yml} or {@code vocab.json}, {@code source.spm},
 * {@code target.spm}. {@link #toHuggingFaceLayout} writes what transformers'
 * {@code convert_marian_to_pytorch.py} would write next to the weights (config.json, vocab.json,
 * tokenizer_config.json, with the same settings and refusals) into a new directory, with the
 * SentencePiece models and the .npz linked or copied; {@link MarianNpz} then maps the tensors.
 */
public final class MarianRelease {

    /** Settings the converter requires (check_marian_cfg_assumptions), as the YAML strings. */
    static final Map<String, String> ASSUMED = new LinkedHashMap<>();

    static {
        ASSUMED.put("layer-normalization", "false");
        ASSUMED.put("right-left", "false");
        ASSUMED.put("transformer-ffn-depth", "2");
        ASSUMED.put("transformer-aan-depth", "2");
        ASSUMED.put("transformer-no-projection", "false");
        ASSUMED.put("transformer-postprocess-emb", "d");
        ASSUMED.put("transformer-postprocess", "dan");
        ASSUMED.put("transformer-preprocess", "");
        ASSUMED.put("type", "transformer");
        ASSUMED.put("ulr-dim-emb", "0");
        ASSUMED.put("dec-cell-base-depth", "2");
        ASSUMED.put("dec-cell-high-depth", "1");
        ASSUMED.put("transformer-aan-nogate", "false");
    }

    static final long MAX_EXTRACT_BYTES = 16L << 30;

    private MarianRelease() {
    }

    /** A .zip, or a directory without config.json that holds an .npz. */
    public static boolean isRelease(Path p) {
        if (Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".zip")) {
            return true;
        }
        if (!Files.isDirectory(p) || Files.exists(p.resolve("config.json"))) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.anyMatch(f -> f.getFileName().toString().endsWith(".npz"));
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes the Hugging Face side of the release into a new temporary directory and returns it. */
    public static Path toHuggingFaceLayout(Path release) {
        try {
            Path out = Files.createTempDirectory("spark-nmt-marian");
            out.toFile().deleteOnExit();
            Path src = release;
            if (Files.isRegularFile(release)) {
                src = Files.createDirectory(out.resolve("release"));
                src.toFile().deleteOnExit();
                unzip(release, src);
            }
            convert(src, out, release);
            return out;
        } catch (IOException e) {
            throw new ModelFormatException(release + ": cannot prepare the Marian model: " + e.getMessage(), e);
        }
    }

    /** Extracts the model's files (by base name; nothing else, no paths) with size checks. */
    private static void unzip(Path zipFile, Path dst) throws IOException {
        try (ZipFile zip = new ZipFile(zipFile.toFile())) {
            long total = 0;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                String base = e.getName().substring(e.getName().lastIndexOf('/') + 1);
                if (e.isDirectory() || !(base.endsWith(".npz") || base.endsWith(".yml") || base.endsWith(".spm")
                        || base.equals("vocab.json") || base.equals("target_vocab.json"))
                        || base.startsWith(".") || base.isEmpty()) {
                    continue;
                }
                Path f = dst.resolve(base);
                if (Files.exists(f)) {
                    throw new ModelFormatException(zipFile + ": two entries named " + base);
                }
                if (e.getMethod() != ZipEntry.STORED && e.getCompressedSize() >= 0 && e.getSize() > e.getCompressedSize() * 1100 + 4096) {
                    throw new ModelFormatException(zipFile + ": entry " + e.getName() + " claims " + e.getSize()
                            + " bytes from " + e.getCompressedSize() + " compressed");
                }
                f.toFile().deleteOnExit();
                try (InputStream in = zip.getInputStream(e); OutputStream os = Files.newOutputStream(f)) {
                    byte[] buf = new byte[1 << 16];
                    long n = 0;
                    for (int r; (r = in.read(buf)) > 0; ) {
                        n += r;
                        total += r;
                        if ((e.getSize() >= 0 && n > e.getSize()) || total > MAX_EXTRACT_BYTES) {
                            throw new ModelFormatException(zipFile + ": entry " + e.getName() + " is larger than it claims");
                        }
                        os.write(buf, 0, r);
                    }
                }
            }
        } catch (ZipException e) {
            throw new ModelFormatException(zipFile + ": not a readable zip archive (truncated?): " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> yaml(Path f) throws IOException {
        if (Files.size(f) > MiniYaml.MAX_BYTES) {
            throw new ModelFormatException(f + ": larger than " + MiniYaml.MAX_BYTES + " bytes");
        }
        return MiniYaml.parse(Files.readString(f, StandardCharsets.UTF_8), f.toString());
    }

    private static List<String> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v instanceof List<?> l) {
            List<String> out = new ArrayList<>();
            for (Object o : l) {
                out.add((String) o);
            }
            return out;
        }
        return v == null || v.equals("") ? List.of() : List.of((String) v);
    }

    private static Path inRelease(Path dir, String name, Path release) {
        String base = name.substring(name.replace('\\', '/').lastIndexOf('/') + 1);
        Path p = dir.resolve(base);
        if (!Files.isRegularFile(p)) {
            throw new ModelFormatException(release + ": " + base + " (named in decoder.yml) is missing");
        }
        return p;
    }

    private static List<Path> glob(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    static void convert(Path dir, Path out, Path release) throws IOException {
        Map<String, Object> decoder = Files.exists(dir.resolve("decoder.yml")) ? yaml(dir.resolve("decoder.yml")) : Map.of();
        // The weights: decoder.yml's first model, else the only .npz.
        Path npzFile;
        List<String> models = list(decoder, "models");
        if (!models.isEmpty()) {
            npzFile = inRelease(dir, models.get(0), release);
        } else {
            List<Path> all = glob(dir, ".npz");
            if (all.size() != 1) {
                throw new ModelFormatException(release + ": " + all.size() + " .npz files and no decoder.yml naming the model");
            }
            npzFile = all.get(0);
        }
        Map<String, Object> cfg;
        int vocabRows;
        boolean separateEmbeddings;
        try (MarianNpz npz = MarianNpz.open(npzFile)) {
            if (!npz.arrays().containsKey(MarianNpz.CONFIG_KEY)) {
                throw new ModelFormatException(npzFile + ": no " + MarianNpz.CONFIG_KEY
                        + " array: the architecture (dims, depths, heads) is unknown");
            }
            byte[] y = npz.bytes(MarianNpz.CONFIG_KEY);
            int n = y.length;
            while (n > 0 && y[n - 1] == 0) {
                n--;
            }
            cfg = MiniYaml.parse(new String(y, 0, n, StandardCharsets.UTF_8), npzFile + " (" + MarianNpz.CONFIG_KEY + ")");
            separateEmbeddings = !npz.arrays().containsKey("Wemb");
            MarianNpz.Array emb = npz.arrays().get(separateEmbeddings ? "encoder_Wemb" : "Wemb");
            if (emb == null || emb.shape().length != 2) {
                throw new ModelFormatException(npzFile + ": no Wemb (or encoder_Wemb and decoder_Wemb) embedding matrix");
            }
            vocabRows = emb.shape()[0];
            if (separateEmbeddings) {
                MarianNpz.Array dec = npz.arrays().get("decoder_Wemb");
                if (dec == null || dec.shape()[0] != vocabRows) {
                    throw new ModelFormatException(npzFile + ": decoder_Wemb is missing or its vocabulary differs from encoder_Wemb's");
                }
            }
        }
        String where = npzFile + " (" + MarianNpz.CONFIG_KEY + ")";
        for (Map.Entry<String, String> a : ASSUMED.entrySet()) {
            Object v = cfg.get(a.getKey());
            if (v == null) {
                throw new ModelFormatException(where + ": setting " + a.getKey() + " is missing");
            }
            if (!a.getValue().equals(v)) {
                throw new ModelFormatException(where + ": " + a.getKey() + " is " + v + "; transformers' Marian (and"
                        + " spark-nmt) runs only " + a.getKey() + ": " + (a.getValue().isEmpty() ? "\"\"" : a.getValue()));
            }
        }
        List<String> dims = list(cfg, "dim-vocabs");
        if (dims.size() != 2 || !dims.get(0).equals(dims.get(1))) {
            throw new ModelFormatException(where + ": dim-vocabs " + dims + " must be two equal sizes");
        }
        if (bool(cfg, "transformer-train-position-embeddings", where)) {
            throw new ModelFormatException(where + ": transformer-train-position-embeddings is true; only static sinusoidal positions are supported");
        }
        boolean all = bool(cfg, "tied-embeddings-all", where);
        boolean tiedSrc = all || bool(cfg, "tied-embeddings-src", where);
        boolean tied = all || bool(cfg, "tied-embeddings", where);
        if (!tied) {
            throw new ModelFormatException(where + ": tied-embeddings is false (a separate output layer): transformers'"
                    + " converter cannot convert it and neither does spark-nmt");
        }
        if (tiedSrc == separateEmbeddings) {
            throw new ModelFormatException(where + ": tied-embeddings-src is " + tiedSrc + " but the .npz holds "
                    + (separateEmbeddings ? "encoder_Wemb/decoder_Wemb" : "Wemb"));
        }
        int d = integer(cfg, "dim-emb", where);
        int pad = vocabRows; // the converter appends <pad> as the last id

        // Vocabularies: vocab.json if the release has one, else decoder.yml's vocabs, else *vocab.yml.
        List<String> vocabs = list(decoder, "vocabs");
        Map<String, Integer> src = vocab(dir, vocabs.isEmpty() ? null : vocabs.get(0),
                tiedSrc ? "vocab.yml" : "src.vocab.yml", "vocab.json", release);
        Map<String, Integer> tgt = tiedSrc ? src : vocab(dir, vocabs.size() < 2 ? null : vocabs.get(1), "trg.vocab.yml",
                "target_vocab.json", release);
        for (Map<String, Integer> v : tiedSrc ? List.of(src) : List.of(src, tgt)) {
            int max = v.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
            if (v.containsKey("<pad>") || max + 1 != vocabRows || v.size() != vocabRows) {
                throw new ModelFormatException(release + ": the vocabulary has " + v.size() + " pieces (ids up to " + max
                        + (v.containsKey("<pad>") ? ", <pad> already in it" : "") + ") but the embeddings have "
                        + vocabRows + " rows; transformers' converter adds <pad> as id " + vocabRows + " and needs them equal");
            }
            v.put("<pad>", pad);
        }
        int eos = src.getOrDefault("</s>", 0);
        String beams = (String) decoder.getOrDefault("beam-size", cfg.get("beam-size"));
        if (beams == null) {
            throw new ModelFormatException(release + ": no beam-size in decoder.yml or " + MarianNpz.CONFIG_KEY);
        }

        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("model_type", "marian");
        c.putArray("architectures").add("MarianMTModel");
        c.put("d_model", d);
        c.put("encoder_layers", integer(cfg, "enc-depth", where));
        c.put("decoder_layers", integer(cfg, "dec-depth", where));
        c.put("encoder_attention_heads", integer(cfg, "transformer-heads", where));
        c.put("decoder_attention_heads", integer(cfg, "transformer-heads", where));
        c.put("encoder_ffn_dim", integer(cfg, "transformer-dim-ffn", where));
        c.put("decoder_ffn_dim", integer(cfg, "transformer-dim-ffn", where));
        c.put("activation_function", (String) cfg.getOrDefault("transformer-ffn-activation", "swish"));
        c.put("vocab_size", vocabRows + 1);
        c.put("decoder_vocab_size", vocabRows + 1);
        c.put("share_encoder_decoder_embeddings", tiedSrc);
        c.put("tie_word_embeddings", tied);
        c.put("max_position_embeddings", d); // as the converter sets it
        c.put("scale_embedding", true);
        c.put("static_position_embeddings", true);
        c.put("normalize_embedding", false);
        c.put("pad_token_id", pad);
        c.put("eos_token_id", eos);
        c.put("forced_eos_token_id", eos);
        c.put("decoder_start_token_id", pad);
        c.putArray("bad_words_ids").addArray().add(pad);
        c.put("num_beams", parseInt(beams, "beam-size", where));
        c.put("max_length", 512);
        json.writerWithDefaultPrettyPrinter().writeValue(file(out, "config.json"), c);
        json.writeValue(file(out, "vocab.json"), src);
        if (!tiedSrc) {
            json.writeValue(file(out, "target_vocab.json"), tgt);
        }
        ObjectNode tc = json.createObjectNode();
        tc.put("separate_vocabs", !tiedSrc);
        json.writeValue(file(out, "tokenizer_config.json"), tc);
        for (String spm : List.of("source.spm", "target.spm")) {
            Path s = dir.resolve(spm);
            if (!Files.isRegularFile(s)) {
                throw new ModelFormatException(release + ": " + spm + " is missing");
            }
            link(s, out.resolve(spm));
        }
        link(npzFile, out.resolve(npzFile.getFileName().toString()));
    }

    private static java.io.File file(Path dir, String name) {
        java.io.File f = dir.resolve(name).toFile();
        f.deleteOnExit();
        return f;
    }

    private static void link(Path from, Path to) throws IOException {
        to.toFile().deleteOnExit();
        if (from.getParent().equals(to.getParent())) {
            return;
        }
        try {
            Files.createSymbolicLink(to, from.toAbsolutePath());
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(from, to);
        }
    }

    private static Map<String, Integer> vocab(Path dir, String named, String ymlSuffix, String jsonName, Path release)
            throws IOException {
        Path f;
        if (Files.isRegularFile(dir.resolve(jsonName))) {
            f = dir.resolve(jsonName);
        } else if (named != null) {
            f = inRelease(dir, named, release);
        } else {
            List<Path> c = glob(dir, ymlSuffix);
            if (c.isEmpty()) {
                throw new ModelFormatException(release + ": no " + jsonName + " and no *" + ymlSuffix + " vocabulary");
            }
            f = c.get(0);
        }
        Map<String, Integer> v = new LinkedHashMap<>();
        if (f.getFileName().toString().endsWith(".json")) {
            com.fasterxml.jackson.databind.JsonNode n = new ObjectMapper().readTree(f.toFile());
            if (n == null || !n.isObject()) {
                throw new ModelFormatException(f + ": expected a JSON object of piece -> id");
            }
            n.fields().forEachRemaining(e -> v.put(e.getKey(), parseInt(e.getValue().asText(), e.getKey(), f.toString())));
            v.remove("<pad>"); // re-added below as the converter does (it must then be the last id)
            return v;
        }
        for (Map.Entry<String, Object> e : yaml(f).entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new ModelFormatException(f + ": piece \"" + e.getKey() + "\" has a list as its id");
            }
            v.put(e.getKey(), parseInt(s, "piece \"" + e.getKey() + "\"", f.toString()));
        }
        return v;
    }

    private static boolean bool(Map<String, Object> cfg, String key, String where) {
        Object v = cfg.getOrDefault(key, "false");
        if (v.equals("true")) {
            return true;
        }
        if (v.equals("false")) {
            return false;
        }
        throw new ModelFormatException(where + ": " + key + " is " + v + ", not true or false");
    }

    private static int integer(Map<String, Object> cfg, String key, String where) {
        Object v = cfg.get(key);
        if (!(v instanceof String s)) {
            throw new ModelFormatException(where + ": setting " + key + " is missing");
        }
        return parseInt(s, key, where);
    }

    private static int parseInt(String s, String what, String where) {
        try {
            int v = Integer.parseInt(s.strip());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ModelFormatException(where + ": " + what + " is \"" + s + "\", not a non-negative integer");
        }
    }
}
