package io.sparknmt.spark;

import io.sparknmt.io.CorpusReader;
import io.sparknmt.io.CorpusWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scheduled run on top of {@link TranslationRun}: translates only the input files not done yet
 * for this model and these options (the manifest's diff), in groups of --commit-every-files;
 * after each group Spark commits its output partitions and then, only then, the manifest records
 * the group, so a killed run resumes where its last commit left off.
 */
final class IncrementalRun {
    private static final Logger LOG = LoggerFactory.getLogger(IncrementalRun.class);
    /** The partition column of the output: one partition per input file. */
    static final String SOURCE_KEY = "source_key";

    private final TranslationRun run;
    private final JobSettings settings;

    IncrementalRun(TranslationRun run) {
        this.run = run;
        this.settings = run.settings;
    }

    RunSummary run() throws IOException {
        Path out = new Path(settings.output());
        FileSystem fs = out.getFileSystem(run.spark.sparkContext().hadoopConfiguration());
        fs.mkdirs(out);
        Manifest manifest = Manifest.read(fs, out);
        String optionsHash = settings.optionsHash(run.bundle);
        String fingerprint = run.bundle.fingerprint();
        List<RunSummary.InputReport> inputs = new ArrayList<>();
        List<Manifest.Entry> pending = new ArrayList<>();
        long skippedRows = 0;
        for (String f : CorpusReader.files(run.spark, settings.input())) {
            Manifest.Entry now = Manifest.describe(f.startsWith("file:") || f.contains("://") ? fsOf(f) : fs, f);
            Manifest.Entry before = manifest.files.get(f);
            boolean done = before != null && !settings.force() && before.sameInput(now) && "done".equals(before.status())
                    && fingerprint.equals(before.modelFingerprint()) && optionsHash.equals(before.optionsHash());
            if (done) {
                skippedRows += before.rows();
                inputs.add(new RunSummary.InputReport(f, "skipped", before.rows(), null));
            } else {
                pending.add(now);
            }
        }
        LOG.info("incremental run: {} input files to translate, {} already done ({} rows)", pending.size(),
                inputs.size(), skippedRows);
        String runId = run.spark.sparkContext().applicationId();
        int every = settings.commitEveryFiles();
        for (int g = 0; g < pending.size(); g += every) {
            List<Manifest.Entry> group = pending.subList(g, Math.min(pending.size(), g + every));
            String[] files = group.stream().map(Manifest.Entry::path).toArray(String[]::new);
            Dataset<Row> translated = run.translate(run.read(files, true));
            try {
                Map<String, Map<String, long[]>> perFile = run.stats(translated);
                Map<String, String> keys = new LinkedHashMap<>();
                for (Manifest.Entry e : group) {
                    keys.put(e.path(), e.sourceKey());
                }
                CorpusWriter.writePartitioned(translated, settings.outputFormat(), new Path(out, "data").toString(),
                        SOURCE_KEY, keys);
                // The output of this group is committed: now, and only now, the manifest says so.
                for (Manifest.Entry e : group) {
                    RunSummary.InputReport r = run.report(translated, e.path(), perFile);
                    manifest.files.put(e.path(), new Manifest.Entry(e.path(), e.size(), e.mtime(), e.sha256(),
                            fingerprint, optionsHash, e.sourceKey(), r.rows(),
                            r.reason() == null ? "done" : "failed", r.reason(), runId));
                    inputs.add(r);
                }
                manifest.writeAtomically(fs, out);
                run.commitMemory(); // after the group's output and manifest: its new translations join the memory
                LOG.info("committed {} of {} pending input files", Math.min(pending.size(), g + group.size()), pending.size());
            } finally {
                run.release(translated);
            }
        }
        return run.summary(inputs, skippedRows);
    }

    private FileSystem fsOf(String f) throws IOException {
        return new Path(f).getFileSystem(run.spark.sparkContext().hadoopConfiguration());
    }
}
