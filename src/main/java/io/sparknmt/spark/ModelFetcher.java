package io.sparknmt.spark;

import io.sparknmt.model.ModelFormatException;
import io.sparknmt.model.checkpoint.Checkpoints;
import io.sparknmt.model.checkpoint.HubCache;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Makes a model given as a local path, a Hugging Face hub id (resolved offline in the local hub
 * cache: {@link HubCache}) or any Hadoop FS URI (a directory, or a Marian release .zip) available
 * on the driver's disk.
 */
final class ModelFetcher {
    private ModelFetcher() {
    }

    /** The directory under the system temporary folder where remote models are copied, with this prefix. */
    static final String TEMP_PREFIX = "spark-nmt-model";

    /**
     * A local directory (or release .zip) holding the model at {@code location}; a remote one is
     * copied with {@code conf} (the job's Hadoop settings: {@code spark.hadoop.*} credentials and
     * endpoints) into a temporary directory, which {@link #release} deletes.
     */
    static java.nio.file.Path localDirectory(String location, Configuration conf) {
        URI uri = URI.create(location.replace(" ", "%20"));
        if (uri.getScheme() == null || uri.getScheme().length() == 1) { // plain or Windows path
            java.nio.file.Path local = java.nio.file.Path.of(location);
            if (!Files.exists(local) && HubCache.looksLikeId(location)) {
                return HubCache.resolve(location);
            }
            return local;
        }
        if ("file".equals(uri.getScheme())) {
            return java.nio.file.Path.of(uri);
        }
        try {
            Path src = new Path(location);
            FileSystem fs = src.getFileSystem(conf);
            java.nio.file.Path dst = Files.createTempDirectory(TEMP_PREFIX);
            if (!fs.getFileStatus(src).isDirectory()) {
                if (!src.getName().toLowerCase(java.util.Locale.ROOT).endsWith(".zip")) {
                    throw new ModelFormatException(location + ": not a model directory or a Marian release .zip");
                }
                java.nio.file.Path zip = dst.resolve(src.getName());
                fs.copyToLocalFile(false, src, new Path(zip.toUri()), true);
                return zip;
            }
            java.util.Map<String, Path> files = new java.util.LinkedHashMap<>();
            for (var st : fs.listStatus(src)) {
                if (st.isFile()) {
                    files.put(st.getPath().getName(), st.getPath());
                }
            }
            // Only what will be read: not a second format of the weights (tf_model.h5, rust_model.ot, ...).
            for (String name : Checkpoints.filesToFetch(files.keySet())) {
                fs.copyToLocalFile(false, files.get(name), new Path(dst.resolve(name).toUri()), true);
            }
            return dst;
        } catch (IOException e) {
            throw new ModelFormatException(location + ": cannot fetch the model: " + e.getMessage(), e);
        }
    }

    /** Deletes the temporary copy {@link #localDirectory} made of a remote model (nothing else). */
    static void release(java.nio.file.Path local) {
        java.nio.file.Path tmp = java.nio.file.Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().normalize();
        java.nio.file.Path copy = local.toAbsolutePath().normalize();
        if (!Files.isDirectory(copy)) {
            copy = copy.getParent(); // a fetched release .zip lies in its own temporary directory
        }
        if (copy == null || !tmp.equals(copy.getParent()) || !copy.getFileName().toString().startsWith(TEMP_PREFIX)) {
            return; // the user's own directory
        }
        try (java.util.stream.Stream<java.nio.file.Path> walk = Files.walk(copy)) {
            for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover temporary copy is harmless; say so and go on
            org.slf4j.LoggerFactory.getLogger(ModelFetcher.class).warn("could not delete {}: {}", copy, e.toString());
        }
    }
}
