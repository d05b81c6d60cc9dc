package io.sparknmt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package plan of docs/architecture.md, checked on the sources: dependencies point one way
 * (tools -> spark -> decode -> model -> kernel, tokenizer, io and text used from above; text may use io), and the engine
 * packages have no Spark, Hadoop or Arrow dependency.
 */
class LayeringTest {
    /** package -> the project packages it may import. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "kernel", Set.of(),
            "model", Set.of("kernel"),
            "tokenizer", Set.of("model"),
            "decode", Set.of("model", "kernel", "tokenizer"),
            "eval", Set.of(),
            "io", Set.of(),
            "text", Set.of("io"),
            "spark", Set.of("decode", "model", "kernel", "tokenizer", "io", "eval", "text"),
            // command-line tools beside the job (jobs/build-shortlist): the engine without a Spark session;
            // they share the job's exit codes, so they may name spark's entry point.
            "tools", Set.of("spark", "decode", "model", "kernel", "tokenizer", "io", "eval", "text"));
    /** Packages with no Spark, Hadoop or Arrow dependency (text: pure functions the spark stages call). */
    private static final Set<String> ENGINE = Set.of("kernel", "model", "tokenizer", "decode", "eval", "text");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern QUALIFIED = Pattern.compile("\\b(io\\.sparknmt\\.[a-z]+|org\\.apache\\.(?:spark|hadoop|arrow))\\.");

    @Test
    void dependenciesPointDownAndTheEngineHasNoSpark() throws IOException {
        Path root = TestPaths.repo().resolve("src/main/java/io/sparknmt");
        List<String> wrong = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                files++;
                String pkg = root.relativize(f).getName(0).toString();
                assertTrue(ALLOWED.containsKey(pkg), "a package the plan does not know: " + pkg);
                String src = Files.readString(f);
                List<String> used = new ArrayList<>();
                Matcher m = IMPORT.matcher(src);
                while (m.find()) {
                    used.add(m.group(1));
                }
                Matcher q = QUALIFIED.matcher(src);
                while (q.find()) {
                    used.add(q.group(1) + ".");
                }
                for (String u : used) {
                    if (u.startsWith("io.sparknmt.")) {
                        String to = u.substring("io.sparknmt.".length()).split("\\.")[0];
                        if (!to.equals(pkg) && !ALLOWED.get(pkg).contains(to)) {
                            wrong.add(root.relativize(f) + " uses " + to);
                        }
                    } else if (ENGINE.contains(pkg) && u.matches("org\\.apache\\.(spark|hadoop|arrow)\\..*")) {
                        wrong.add(root.relativize(f) + " (engine) uses " + u);
                    }
                }
            }
        }
        assertTrue(files > 50, "found the sources: " + files);
        assertEquals(List.of(), wrong);
    }
}
