package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import java.io.File;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code mvn install} publishes for this line (the slim jar and the flattened pom) is found
 * by {@code spark-submit --packages groupId:artifactId:version} in a local Maven repository: the
 * job runs from the resolved jar alone (no project classes on the class path). The repository is
 * Spark's default local-m2 resolver, {@code ~/.m2/repository}, under a temporary user.home, laid
 * out as maven-install-plugin lays it out.
 */
class PackagesIT {
    @TempDir
    Path tmp;

    @Test
    void packagesResolvesTheInstalledCoordinatesAndRuns() throws Exception {
        Path jar = StandaloneClusterIT.appJar();
        Path pom = jar.resolveSibling(".flattened-pom.xml");
        String pomText = Files.readString(pom);
        String group = tag(pomText, "groupId");
        String artifact = tag(pomText, "artifactId");
        String version = tag(pomText, "version");
        String profile = System.getProperty("spark.nmt.profile");
        String scalaBin = System.getProperty("spark.nmt.expected.scala.binary");
        // The coordinates a release publishes: one artifactId per Spark line and Scala line.
        String line = profile.startsWith("spark-3.5") ? "spark35" : "spark4";
        assertEquals("io.sparknmt", group);
        assertEquals("spark-nmt-" + line + "_" + scalaBin, artifact);
        assertEquals(artifact + "-" + version + ".jar", jar.getFileName().toString());
        assertFalse(pomText.contains("${"), "flattened pom still has expressions:\n" + pomText);
        assertFalse(pomText.contains("<dependencies>"), "the slim jar needs no dependencies:\n" + pomText);

        Path home = tmp.resolve("home");
        Path dir = home.resolve(".m2/repository").resolve(group.replace('.', '/')).resolve(artifact).resolve(version);
        Files.createDirectories(dir);
        Files.copy(jar, dir.resolve(artifact + "-" + version + ".jar"));
        Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"));

        // spark-submit needs a primary resource; an empty jar, so TranslateJob can only come from --packages.
        Path empty = tmp.resolve("empty.jar");
        try (OutputStream o = Files.newOutputStream(empty); JarOutputStream j = new JarOutputStream(o, new Manifest())) {
            j.flush();
        }
        List<String> jars = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.endsWith(".jar") && !e.contains("spark-nmt")) {
                jars.add(e);
            }
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(StandaloneCluster.jvmFlags());
        cmd.addAll(List.of("-Xmx1g", "-Duser.home=" + home, "-cp", String.join(File.pathSeparator, jars),
                "org.apache.spark.deploy.SparkSubmit", "--master", "local[1]",
                "--packages", group + ":" + artifact + ":" + version,
                "--class", TranslateJob.class.getName(), empty.toString(),
                "--model", TestPaths.sampleModel().toString(),
                "--input", TestPaths.repo().resolve("sample-data/corpus/en.txt").toString(),
                "--output", tmp.resolve("out").toString(), "--output-format", "jsonl", "--beam-size", "1",
                "--max-output-tokens", "8"));
        Path log = tmp.resolve("submit.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("spark-submit --packages did not finish in 5 minutes: " + Files.readString(log));
        }
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("found " + group + "#" + artifact + ";" + version + " in local-m2-cache"), text);
        assertTrue(text.contains("rows         in 100, out 100"), text);
        assertTrue(text.contains("runtime      " + RuntimeVersionsTest.expectedPrefix()), text);
    }

    private static String tag(String xml, String name) {
        // The project's own element: the first one at two spaces of indentation.
        Matcher m = Pattern.compile("(?m)^  <" + name + ">([^<]+)</" + name + ">").matcher(xml);
        assertTrue(m.find(), name + " in\n" + xml);
        return m.group(1);
    }
}
