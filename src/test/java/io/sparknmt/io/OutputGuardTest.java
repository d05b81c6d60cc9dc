package io.sparknmt.io;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputGuardTest {
    static final Configuration CONF = new Configuration();

    @TempDir
    Path dir;

    private static void refused(String output, boolean overwrite, List<String> protect, String mention) {
        UsageException e = assertThrows(UsageException.class,
                () -> OutputGuard.check(CONF, output, overwrite, false, protect));
        assertTrue(e.getMessage().contains(mention), () -> "\"" + e.getMessage() + "\" should mention " + mention);
    }

    @Test
    void rootAndHomeDirectoriesAreNeverAnOutput() {
        refused("/", true, List.of(), "root of a file system");
        refused("file:///", true, List.of(), "root of a file system");
        refused(System.getProperty("user.home"), true, List.of(), "home directory");
        Path home = Path.of(System.getProperty("user.home"));
        if (home.getParent() != null && home.getParent().getParent() != null) {
            refused(home.getParent().toString(), true, List.of(), "home directory"); // e.g. /home
        }
    }

    @Test
    void theInputTheModelAndTheirParentsAreRefused() throws IOException {
        Path in = Files.createDirectories(dir.resolve("corpus/en"));
        Files.writeString(in.resolve("a.txt"), "x\n");
        Path model = Files.createDirectories(dir.resolve("models/m"));
        List<String> protect = List.of(in.resolve("a.txt").toString(), model.toString());
        refused(in.resolve("a.txt").toString(), true, protect, "the input or the model");
        refused(in.toString(), true, protect, "the input or the model");
        refused(dir.resolve("corpus").toString(), true, protect, "the input or the model");
        refused(model.toString(), true, protect, "the input or the model");
        refused("file://" + dir.resolve("models"), true, protect, "the input or the model");
        refused(dir.resolve("corpus/en/../en").toString(), true, protect, "the input or the model");
        // a glob protects the directory it lists
        refused(in.toString(), true, List.of(in + "/*.txt"), "the input or the model");
        // a symbolic link to a parent of the input
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("corpus"));
        refused(link.toString(), true, protect, "the input or the model");
        // beside them, or inside the input's directory, is fine
        assertDoesNotThrow(() -> OutputGuard.check(CONF, dir.resolve("out").toString(), true, false, protect));
        assertDoesNotThrow(() -> OutputGuard.check(CONF, in.resolve("out").toString(), true, false, protect));
    }

    @Test
    void anExistingOutputNeedsOverwriteOrIncremental() throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        refused(out.toString(), false, List.of(), "already exists");
        assertDoesNotThrow(() -> OutputGuard.check(CONF, out.toString(), true, false, List.of()));
        assertDoesNotThrow(() -> OutputGuard.check(CONF, out.toString(), false, true, List.of()));
        assertDoesNotThrow(() -> OutputGuard.check(CONF, dir.resolve("new").toString(), false, false, List.of()));
    }
}
