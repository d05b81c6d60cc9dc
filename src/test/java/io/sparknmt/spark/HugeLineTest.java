package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparknmt.TestPaths;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 300 MB line (generated here, never committed) among ordinary ones, read by the job in a JVM
 * of its own with a 512 MB heap: the line alone, as a String or a Hadoop Text, would not fit
 * there next to Spark and the model. It must become one error row with a bounded prefix, and the
 * other lines must be translated.
 */
class HugeLineTest {
    @TempDir
    Path tmp;

    @Test
    void aLineOfHundredsOfMegabytesIsAnErrorRowNotAKilledExecutor() throws Exception {
        Path in = tmp.resolve("huge.txt");
        long hugeBytes = 300L << 20;
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(in), 1 << 20)) {
            os.write("A man is riding a bike.\n".getBytes(StandardCharsets.UTF_8));
            byte[] chunk = "a dog runs ".repeat(100_000).getBytes(StandardCharsets.UTF_8);
            long left = hugeBytes;
            while (left > 0) {
                int n = (int) Math.min(left, chunk.length);
                os.write(chunk, 0, n);
                left -= n;
            }
            os.write("\nA girl is jumping.\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(hugeBytes + 24 + 20, Files.size(in));
        LocalJob.Result r = LocalJob.run(Path.of(System.getProperty("java.home")),
                List.of("-Xmx512m", "-XX:+ExitOnOutOfMemoryError"),
                List.of("--master", "local[2]", "--model", TestPaths.sampleModel().toString(), "--input", in.toString(),
                        "--beam-size", "1", "--max-error-rate", "1.0"),
                tmp, "huge");
        ObjectMapper om = new ObjectMapper();
        Map<Long, JsonNode> rows = new HashMap<>();
        for (String line : r.rows()) {
            JsonNode n = om.readTree(line);
            rows.put(n.get("id").asLong(), n);
        }
        assertEquals(3, rows.size(), r.log());
        assertEquals("ok", rows.get(0L).get("status").asText());
        assertEquals("ok", rows.get(2L).get("status").asText());
        JsonNode big = rows.get(1L);
        assertEquals("error", big.get("status").asText(), big.toString());
        String msg = big.get("message").asText();
        assertTrue(msg.contains("huge.txt") && msg.contains("line 2") && msg.contains(hugeBytes + " bytes")
                && msg.contains("--max-input-bytes 1048576"), msg);
        String src = big.get("source").asText();
        assertTrue(src.length() > 0 && src.length() <= 1024, "bounded prefix, got " + src.length() + " chars");
        assertTrue(src.startsWith("a dog runs a dog runs"), src);
        assertTrue(Arrays.asList(r.log().split("\n")).stream().anyMatch(l -> l.contains("in 3, out 3")), r.log());
    }
}
