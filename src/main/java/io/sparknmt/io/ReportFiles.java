package io.sparknmt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes the run report to any Hadoop file system path ({@code hdfs:}, {@code s3a:}, a local
 * path): a cluster-mode driver's local disk goes away with its container.
 */
public final class ReportFiles {
    private ReportFiles() {
    }

    public static void write(Configuration conf, String location, String json) throws IOException {
        Path p = new Path(location);
        FileSystem fs = p.getFileSystem(conf);
        try (OutputStream os = fs.create(p, true)) {
            os.write(json.getBytes(StandardCharsets.UTF_8));
        }
    }
}
