package io.sparknmt.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparknmt.io.Digests;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The run manifest of an incremental output location: per input file, what was translated, with
 * which model and options. Written atomically (temporary file, then rename) and only after Spark
 * has committed the output it describes, so a run killed at any point leaves either the old
 * manifest or the new one: rename over an existing file is not atomic on every Hadoop FileSystem,
 * so the old one is first moved to {@link #PREVIOUS}, which {@link #read} uses while
 * {@link #FILE} is missing.
 */
final class Manifest {
    static final String FILE = "_manifest.json";
    /** The previous manifest while the new one is moved into place; read when {@link #FILE} is missing. */
    static final String PREVIOUS = "_manifest.json.old";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What is known about one input file. */
    record Entry(String path, long size, long mtime, String sha256, String modelFingerprint, String optionsHash,
                 String sourceKey, long rows, String status, String reason, String runId) {
        boolean sameInput(Entry o) {
            return size == o.size && mtime == o.mtime && sha256.equals(o.sha256);
        }
    }

    final Map<String, Entry> files = new LinkedHashMap<>();

    static Manifest read(FileSystem fs, Path output) throws IOException {
        Manifest m = new Manifest();
        Path f = new Path(output, FILE);
        if (!fs.exists(f)) {
            // killed between moving the current manifest aside and moving the new one in: the
            // previous one is still the truth (the new one's group is redone, replacing its partitions)
            f = new Path(output, PREVIOUS);
            if (!fs.exists(f)) {
                return m;
            }
        }
        JsonNode root;
        try (InputStream in = fs.open(f)) {
            root = JSON.readTree(in);
        }
        for (JsonNode e : root.path("files")) {
            Entry entry = new Entry(e.get("path").asText(), e.get("size").asLong(), e.get("mtime").asLong(),
                    e.get("sha256").asText(), e.get("model_fingerprint").asText(), e.get("options_hash").asText(),
                    e.get("source_key").asText(), e.get("rows").asLong(), e.get("status").asText(),
                    e.path("reason").isNull() ? null : e.path("reason").asText(null), e.get("run_id").asText());
            m.files.put(entry.path(), entry);
        }
        return m;
    }

    void writeAtomically(FileSystem fs, Path output) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", 1);
        ArrayNode arr = root.putArray("files");
        for (Entry e : files.values()) {
            ObjectNode n = arr.addObject();
            n.put("path", e.path());
            n.put("size", e.size());
            n.put("mtime", e.mtime());
            n.put("sha256", e.sha256());
            n.put("model_fingerprint", e.modelFingerprint());
            n.put("options_hash", e.optionsHash());
            n.put("source_key", e.sourceKey());
            n.put("rows", e.rows());
            n.put("status", e.status());
            n.put("reason", e.reason());
            n.put("run_id", e.runId());
        }
        Path tmp = new Path(output, "_manifest.json.tmp-" + System.nanoTime());
        try (OutputStream os = fs.create(tmp, true)) {
            os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        }
        Path dst = new Path(output, FILE);
        // rename over an existing file is not atomic on every FileSystem: keep the old one until the new is in place
        // At every moment one of dst and old holds a complete manifest: old is only removed while
        // dst exists, and read() falls back to old when dst is missing.
        Path old = new Path(output, PREVIOUS);
        if (fs.exists(dst)) {
            fs.delete(old, false);
            if (!fs.rename(dst, old)) {
                throw new IOException("cannot move " + dst + " aside");
            }
        }
        if (!fs.rename(tmp, dst)) {
            throw new IOException("cannot rename " + tmp + " to " + dst);
        }
        fs.delete(old, false);
    }

    /** The current state of an input file: size, modification time, SHA-256 of its bytes. */
    static Entry describe(FileSystem fs, String file) throws IOException {
        Path p = new Path(file);
        FileStatus st = fs.getFileStatus(p);
        MessageDigest md = Digests.sha256();
        try (InputStream in = fs.open(p)) {
            Digests.update(md, in);
        }
        return new Entry(file, st.getLen(), st.getModificationTime(), HexFormat.of().formatHex(md.digest()),
                null, null, sourceKey(file), 0, null, null, null);
    }

    /** The output partition value of an input file: its name plus a hash of its full path. */
    static String sourceKey(String file) {
        return new Path(file).getName().replaceAll("[^A-Za-z0-9._-]", "_") + "-" + Digests.sha256Hex(file, 12);
    }
}
