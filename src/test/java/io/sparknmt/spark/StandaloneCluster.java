package io.sparknmt.spark;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster on 127.0.0.1 built from the Maven jars on this JVM's class
 * path: a master and workers, each its own JVM, and executors in JVMs of their own. Stops
 * everything it started, executors included.
 */
final class StandaloneCluster implements AutoCloseable {
    final Path home;
    final Path work;
    final int port;
    private final List<Process> processes = new ArrayList<>();
    private final List<String> flags;

    StandaloneCluster(Path base, int workers, int coresPerWorker, String workerMemory) throws IOException, InterruptedException {
        this.home = base.resolve("spark-home");
        this.work = base.resolve("work");
        Path jars = home.resolve("jars");
        Files.createDirectories(jars);
        Files.createDirectories(work);
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (entry.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        this.flags = jvmFlags();
        this.port = freePort();
        start("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(port), "--webui-port", String.valueOf(freePort())), "-Dspark.master.rest.enabled=false");
        waitForPort(port, 60);
        for (int i = 0; i < workers; i++) {
            Path wd = work.resolve("worker-" + i);
            Files.createDirectories(wd);
            start("worker-" + i, List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores",
                    String.valueOf(coresPerWorker), "--memory", workerMemory, "--work-dir", wd.toString(),
                    "--webui-port", String.valueOf(freePort()), masterUrl()), "-Xmx512m");
        }
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + port;
    }

    /** Spark's launcher flags, from conf/jvm-options of the repository. */
    static List<String> jvmFlags() throws IOException {
        Path f = Path.of(System.getProperty("spark.nmt.repo", ".")).resolve("conf/jvm-options");
        return Files.readAllLines(f).stream().map(String::trim).filter(s -> !s.isEmpty() && !s.startsWith("#")).toList();
    }

    private void start(String name, List<String> args, String extraFlag) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(flags);
        cmd.add(extraFlag);
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + File.separator + "*");
        cmd.addAll(args);
        processes.add(launch(cmd, work.resolve(name + ".log")));
    }

    ProcessBuilder builder(List<String> cmd, Path log) {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        // Standalone workers need the Scala line of the jars (surefire/failsafe set it from the profile).
        pb.environment().put("SPARK_SCALA_VERSION", System.getenv().getOrDefault("SPARK_SCALA_VERSION",
                scala.util.Properties.versionNumberString().replaceAll("^(\\d+\\.\\d+).*", "$1")));
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb;
    }

    private Process launch(List<String> cmd, Path log) throws IOException {
        return builder(cmd, log).start();
    }

    /** Runs spark-submit (as a JVM of its own) and returns its exit code. */
    int submit(Path appJar, String mainClass, Path log, List<String> conf, List<String> appArgs)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(flags);
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + File.separator + "*");
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        cmd.add("--master");
        cmd.add(masterUrl());
        cmd.add("--class");
        cmd.add(mainClass);
        for (String c : conf) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.add(appJar.toString());
        cmd.addAll(appArgs);
        Process p = builder(cmd, log).start();
        processes.add(p);
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("spark-submit did not finish in 15 minutes; see " + log);
        }
        return p.exitValue();
    }

    /** Executor JVMs the workers started (children of the worker processes). */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process p : processes) {
            p.toHandle().children().filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                    .forEach(out::add);
        }
        return out;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void waitForPort(int port, int seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("nothing listens on 127.0.0.1:" + port + " after " + seconds + " s");
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
