package io.sparknmt.spark;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine;

/**
 * A spark-defaults style file ({@code key value} or {@code key=value}, {@code #} comments):
 * {@code spark.nmt.<option>} keys give option defaults (e.g. {@code spark.nmt.beam-size 4}),
 * other {@code spark.*} keys are Spark settings.
 */
final class ConfFile implements CommandLine.IDefaultValueProvider {
    static final String PREFIX = "spark.nmt.";
    private final Properties props;

    private ConfFile(Properties props) {
        this.props = props;
    }

    static ConfFile read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return new ConfFile(p);
    }

    static ConfFile empty() {
        return new ConfFile(new Properties());
    }

    @Override
    public String defaultValue(CommandLine.Model.ArgSpec arg) {
        if (arg instanceof CommandLine.Model.OptionSpec opt) {
            String key = PREFIX + opt.longestName().replaceFirst("^--", "");
            String v = props.getProperty(key);
            if (v != null) {
                return v.trim();
            }
        }
        return arg.defaultValue();
    }

    /** The Spark settings (every spark.* key that is not a spark.nmt.* option). */
    void copySparkSettings(java.util.Map<String, String> into) {
        for (String k : props.stringPropertyNames()) {
            if (k.startsWith("spark.") && !k.startsWith(PREFIX)) {
                into.put(k, props.getProperty(k).trim());
            }
        }
    }

    /** Finds --conf-file in raw arguments, before picocli parses them. */
    static String locate(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--conf-file") && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].startsWith("--conf-file=")) {
                return args[i].substring("--conf-file=".length());
            }
        }
        return null;
    }
}
