package io.sparknmt.spark;

import io.sparknmt.model.ModelFormatException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Makes a model directory given as a local path or any Hadoop FS URI available on the driver's disk. */
final class ModelFetcher {
    private ModelFetcher() {
    }

    static java.nio.file.Path localDirectory(String location) {
        URI uri = URI.create(location.replace(" ", "%20"));
        if (uri.getScheme() == null || uri.getScheme().length() == 1) { // plain or Windows path
            return java.nio.file.Path.of(location);
        }
        if ("file".equals(uri.getScheme())) {
            return java.nio.file.Path.of(uri);
        }
        try {
            Path src = new Path(location);
            FileSystem fs = src.getFileSystem(new Configuration());
            if (!fs.getFileStatus(src).isDirectory()) {
                throw new ModelFormatException(location + ": not a model directory");
            }
            java.nio.file.Path dst = Files.createTempDirectory("spark-nmt-model");
            for (var st : fs.listStatus(src)) {
                if (st.isFile()) {
                    fs.copyToLocalFile(false, st.getPath(), new Path(dst.resolve(st.getPath().getName()).toUri()), true);
                }
            }
            return dst;
        } catch (IOException e) {
            throw new ModelFormatException(location + ": cannot fetch the model: " + e.getMessage(), e);
        }
    }
}
