package io.sparknmt.io;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The output location, checked on the driver before the model is loaded or any input read.
 *
 * <ul>
 *   <li>An existing output without {@code --overwrite} (or {@code --incremental}) is refused at
 *       once, not after the translation has run.</li>
 *   <li>{@code --overwrite} deletes the output recursively, so the output may never be the root of
 *       a file system, a home directory (the user's, or the file system's home for the user), the
 *       input or the model directory, or a directory that holds any of them.</li>
 * </ul>
 *
 * Locations are compared after qualification (scheme, authority, absolute path) and, on the local
 * file system, after resolving symbolic links of the parts that exist.
 */
public final class OutputGuard {
    private OutputGuard() {
    }

    /**
     * @param protect the input (path, directory or glob) and the model location, as given
     * @throws UsageException when the output must not be written
     */
    public static void check(Configuration conf, String output, boolean overwrite, boolean incremental,
                             List<String> protect) {
        try {
            Path out = new Path(output);
            FileSystem fs = out.getFileSystem(conf);
            Path q = canonical(fs, fs.makeQualified(out));
            if (q.isRoot()) {
                throw new UsageException("--output " + output + " is the root of a file system: refused");
            }
            List<String[]> guarded = new ArrayList<>();
            guarded.add(new String[] {"a home directory", fs.makeQualified(fs.getHomeDirectory()).toString()});
            if ("file".equals(q.toUri().getScheme())) {
                guarded.add(new String[] {"a home directory",
                        fs.makeQualified(new Path(System.getProperty("user.home"))).toString()});
            }
            for (String p : protect) {
                if (p != null) {
                    guarded.add(new String[] {"the input or the model (" + p + ")", p});
                }
            }
            for (String[] g : guarded) {
                Path gp = new Path(withoutGlob(g[1]));
                FileSystem gfs = gp.getFileSystem(conf);
                Path gq = canonical(gfs, gfs.makeQualified(gp));
                if (isSelfOrAncestor(q, gq)) {
                    throw new UsageException("--output " + output + " is or holds " + g[0]
                            + ": refused, since --overwrite would delete it; choose an output directory of its own");
                }
            }
            if (!overwrite && !incremental && fs.exists(out)) {
                throw new UsageException("--output " + output + " already exists: add --overwrite to replace it, "
                        + "or choose another location");
            }
        } catch (IOException e) {
            throw new UsageException("--output " + output + ": " + e.getMessage());
        }
    }

    /** The directory part of a glob: everything before the first path component holding a glob character. */
    static String withoutGlob(String location) {
        int star = indexOfGlob(location);
        if (star < 0) {
            return location;
        }
        int slash = location.lastIndexOf('/', star);
        return slash <= 0 ? "/" : location.substring(0, slash);
    }

    private static int indexOfGlob(String s) {
        for (int i = 0; i < s.length(); i++) {
            if ("*?[{".indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** On the local file system, the longest existing prefix with its symbolic links resolved. */
    private static Path canonical(FileSystem fs, Path qualified) {
        URI u = qualified.toUri();
        if (!"file".equals(u.getScheme())) {
            return qualified;
        }
        java.nio.file.Path p = java.nio.file.Path.of(u.getPath()).normalize();
        java.nio.file.Path rest = java.nio.file.Path.of("");
        while (p != null && !java.nio.file.Files.exists(p)) {
            rest = p.getFileName().resolve(rest);
            p = p.getParent();
        }
        if (p == null) {
            return qualified;
        }
        try {
            java.nio.file.Path real = p.toRealPath().resolve(rest).normalize();
            return fs.makeQualified(new Path(real.toUri()));
        } catch (IOException e) {
            return qualified;
        }
    }

    static boolean isSelfOrAncestor(Path a, Path b) {
        URI ua = a.toUri();
        URI ub = b.toUri();
        if (!same(ua.getScheme(), ub.getScheme()) || !same(ua.getAuthority(), ub.getAuthority())) {
            return false;
        }
        String pa = trimSlash(ua.getPath());
        String pb = trimSlash(ub.getPath());
        return pa.isEmpty() || pb.equals(pa) || pb.startsWith(pa + "/");
    }

    private static boolean same(String x, String y) {
        return x == null ? y == null : x.equals(y);
    }

    private static String trimSlash(String p) {
        String s = p == null ? "" : p;
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }
}
