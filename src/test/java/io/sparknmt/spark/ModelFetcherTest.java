package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model on a Hadoop file system: reached with the job's {@code spark.hadoop.*} settings (here a
 * file system that only those settings name), only the files the format needs are fetched, and
 * the temporary copy is deleted once the model is loaded.
 */
class ModelFetcherTest {
    /** The local disk under a scheme that exists only where {@code fs.nmtconf.impl} is configured. */
    public static class ConfOnlyFileSystem extends RawLocalFileSystem {
        @Override
        public URI getUri() {
            return URI.create("nmtconf:///");
        }

        @Override
        public String getScheme() {
            return "nmtconf";
        }
    }

    @TempDir
    Path tmp;

    private Path remoteModel() throws IOException {
        Path m = TestPaths.copySampleModel(tmp.resolve("remote-model"));
        // A second format of the same weights, as hub repositories carry: never fetched.
        Files.write(m.resolve("tf_model.h5"), new byte[1 << 20]);
        Files.write(m.resolve("rust_model.ot"), new byte[1 << 20]);
        return m;
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    private static Set<Path> tempCopies() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return new java.util.HashSet<>(s.filter(p -> p.getFileName().toString().startsWith(ModelFetcher.TEMP_PREFIX)).toList());
        }
    }

    @Test
    void usesTheJobsHadoopSettingsFetchesOnlyWhatIsReadAndDeletesTheCopy() throws IOException {
        Path model = remoteModel();
        String uri = "nmtconf://" + model.toAbsolutePath();
        // Without the job's setting the scheme is unknown: the error names the model.
        ModelFormatException none = assertThrows(ModelFormatException.class,
                () -> ModelFetcher.localDirectory(uri, JobSettings.hadoopConf(new SparkConf(false))));
        assertTrue(none.getMessage().contains(uri) && none.getMessage().contains("nmtconf"), none.getMessage());

        SparkConf conf = new SparkConf(false).set("spark.hadoop.fs.nmtconf.impl", ConfOnlyFileSystem.class.getName());
        Path local = ModelFetcher.localDirectory(uri, JobSettings.hadoopConf(conf));
        try {
            assertTrue(local.getFileName().toString().startsWith(ModelFetcher.TEMP_PREFIX), local.toString());
            Set<String> expected = names(TestPaths.sampleModel());
            assertEquals(expected, names(local), "only the files the format reads");
            for (String f : expected) {
                assertEquals(-1L, Files.mismatch(TestPaths.sampleModel().resolve(f), local.resolve(f)), f);
            }
        } finally {
            ModelFetcher.release(local);
        }
        assertFalse(Files.exists(local), "the temporary copy is deleted");
        // release never touches a directory it did not make
        ModelFetcher.release(model);
        assertTrue(Files.isRegularFile(model.resolve("model.safetensors")));
    }

    @Test
    void aJobOnARemoteModelLeavesNoCopyBehind() throws IOException {
        Path model = remoteModel();
        Path conf = tmp.resolve("job.conf");
        Files.writeString(conf, "spark.hadoop.fs.nmtconf.impl " + ConfOnlyFileSystem.class.getName() + "\n");
        Path in = tmp.resolve("in.txt");
        Files.write(in, List.of("A dog runs on the beach.", "Two men are talking."));
        Set<Path> before = tempCopies();
        int rc = TranslateJob.run("--master", "local[1]", "--conf-file", conf.toString(),
                "--model", "nmtconf://" + model.toAbsolutePath(), "--input", in.toString(),
                "--output", tmp.resolve("out").toString(), "--output-format", "jsonl", "--beam-size", "1");
        assertEquals(0, rc);
        assertEquals(2, TranslateJobTest.readJsonl(tmp.resolve("out")).size());
        assertEquals(before, tempCopies(), "temporary model copies left in java.io.tmpdir");
    }
}
