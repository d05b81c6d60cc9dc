package io.sparknmt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparknmt.TestPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --input-table / --output-table against a catalog that persists between sessions: Spark's Hive catalog
 * with its embedded Derby metastore under a temporary directory. Every session is a JVM of its own, one
 * after the other (embedded Derby is one JVM's at a time): one makes the input table, the next ones
 * translate it into an output table (error-if-exists, append, overwrite). The rows are read back from
 * the warehouse's files and must be the file job's rows on the same input.
 */
class TablesTest {
    static final Path MODEL = TestPaths.sampleModel();
    static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType)
            .add("n", DataTypes.LongType);
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(TranslateJob.withJobSettings(new SparkConf()
                .setMaster("local[2]").setAppName("TablesTest").set("spark.ui.showConsoleProgress", "false"))).getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** Session 1 (a JVM of its own): reads a jsonl file into a table of the Hive catalog. Args: conf file, jsonl, table. */
    public static final class MakeTable {
        public static void main(String[] args) throws IOException {
            SparkConf conf = new SparkConf().setMaster("local[1]").setAppName("make-table");
            for (String line : Files.readAllLines(Path.of(args[0]))) {
                String[] kv = line.split("=", 2);
                conf.set(kv[0].trim(), kv[1].trim());
            }
            SparkSession s = SparkSession.builder().config(conf).getOrCreate();
            s.read().schema(SCHEMA).json(args[1]).write().saveAsTable(args[2]);
            s.stop();
        }
    }

    record Run(int exit, String log) {
    }

    /** A JVM of its own, on the test class path, with the project's JVM flags. */
    Run jvm(String name, String mainClass, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(StandaloneCluster.jvmFlags());
        cmd.addAll(List.of("-Xmx1g", "-Dderby.system.home=" + tmp, "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        Path log = tmp.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).directory(tmp.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(name + " did not finish in 5 minutes: " + Files.readString(log));
        }
        return new Run(p.exitValue(), Files.readString(log));
    }

    Run translate(String name, Path conf, String... more) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("--model", MODEL.toString(), "--conf-file", conf.toString(),
                "--input-table", "src", "--output-table", "de", "--beam-size", "1", "--max-error-rate", "1"));
        a.addAll(List.of(more));
        return jvm(name, TranslateJob.class.getName(), a);
    }

    /** id -> what the job wrote for it, for the rows read back (each id once). */
    static Map<String, String> byId(List<Row> rows) {
        Map<String, String> m = new HashMap<>();
        for (Row r : rows) {
            String v = r.getAs("translation") + "|" + r.getAs("score") + "|" + r.getAs("status") + "|" + r.getAs("message")
                    + "|" + r.getAs("src_tokens") + "|" + r.getAs("tgt_tokens") + "|n=" + r.getAs("n");
            assertTrue(m.put(r.getAs("id"), v) == null, "duplicate id " + r.getAs("id"));
        }
        return m;
    }

    @Test
    void tablesOfAHiveCatalogThatOutlivesTheSession() throws Exception {
        Path input = tmp.resolve("in.jsonl");
        Files.write(input, NmtTranslatorTest.jsonl(10, 5, "t"), StandardCharsets.UTF_8);
        Path warehouse = tmp.resolve("warehouse");
        Path conf = tmp.resolve("hive.conf");
        Files.write(conf, List.of("spark.sql.catalogImplementation=hive", "spark.sql.warehouse.dir=" + warehouse.toUri(),
                "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=" + tmp.resolve("metastore_db") + ";create=true",
                "spark.ui.enabled=false", "spark.master=local[2]"));

        Run made = jvm("make-table", MakeTable.class.getName(), List.of(conf.toString(), input.toString(), "src"));
        assertEquals(0, made.exit(), made.log());

        // the file job on the same rows, for the expected output
        Path files = tmp.resolve("files");
        assertEquals(0, TranslateJob.run("--model", MODEL.toString(), "--input", input.toString(), "--input-format", "jsonl",
                "--output", files.toString(), "--beam-size", "1", "--max-error-rate", "1"));
        Map<String, String> expected = byId(spark.read().parquet(files.toString()).collectAsList());
        assertEquals(6, expected.size());

        Run first = translate("first", conf); // session 2 reads the table session 1 left in the metastore
        assertEquals(0, first.exit(), first.log());
        Path de = warehouse.resolve("de");
        List<Row> rows = spark.read().parquet(de.toString()).collectAsList();
        assertEquals(expected, byId(rows));
        assertEquals("src", rows.get(0).getAs("source_file"));

        Run again = translate("again", conf); // error-if-exists, the default
        assertEquals(TranslateJob.EXIT_USAGE, again.exit(), again.log());
        assertTrue(again.log().contains("output table de already exists"), again.log());

        Run append = translate("append", conf, "--output-mode", "append");
        assertEquals(0, append.exit(), append.log());
        List<Row> twice = spark.read().parquet(de.toString()).collectAsList();
        assertEquals(12, twice.size(), "appended");
        assertEquals(expected, byId(distinct(twice)));

        Run overwrite = translate("overwrite", conf, "--output-mode", "overwrite");
        assertEquals(0, overwrite.exit(), overwrite.log());
        assertEquals(expected, byId(spark.read().parquet(de.toString()).collectAsList()));
    }

    /** Rows appended twice, each id once (both copies equal). */
    private static List<Row> distinct(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            Row old = m.put(r.getAs("id"), r);
            assertTrue(old == null || old.equals(r), "the two runs differ on " + r.getAs("id"));
        }
        return new ArrayList<>(m.values());
    }

    @Test
    void badTableSettingsAreRefused() {
        // the in-memory catalog of this session: no such table (exit 4); contradictory options (exit 2)
        assertEquals(TranslateJob.EXIT_INPUT, TranslateJob.run("--model", MODEL.toString(), "--input-table", "nowhere",
                "--output", tmp.resolve("o").toString()));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", "x", "--input-table", "y",
                "--output", tmp.resolve("o").toString()));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", "x",
                "--output", tmp.resolve("o").toString(), "--output-mode", "append"));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", "x",
                "--output-table", "t", "--output-mode", "sometimes"));
        assertEquals(TranslateJob.EXIT_USAGE, TranslateJob.run("--model", MODEL.toString(), "--input", "x"));
    }
}
