package io.sparknmt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * No network call at run time: DJL's SentencePiece binding calls home when a processor is made
 * (EC2 instance metadata, then a telemetry bucket) unless told not to. A fresh JVM (DJL's
 * once-a-day gate is per JVM), without DJL's environment switches, loads and uses a tokenizer
 * and must attempt no URL connection at all.
 */
class NoCallHomeTest {

    @Test
    void loadingAndUsingATokenizerAttemptsNoConnection() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                NetworkProbe.class.getName(), TestPaths.sampleModel().toString()).redirectErrorStream(true);
        pb.environment().remove("OPT_OUT_TRACKING");
        pb.environment().remove("DJL_OFFLINE");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "probe did not finish");
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().toList();
        int at = lines.indexOf("attempted:");
        assertTrue(at >= 0 && lines.stream().anyMatch(l -> l.startsWith("ids ")), out);
        assertEquals(List.of(), lines.subList(at + 1, lines.size()), "URL connections attempted: " + out);
    }

    @Test
    void djlSeesItsOfflineSwitches() {
        MarianTokenizer.offline();
        assertTrue(ai.djl.util.Utils.isOfflineMode());
        assertEquals("true", ai.djl.util.Utils.getEnvOrSystemProperty("OPT_OUT_TRACKING"));
    }
}
