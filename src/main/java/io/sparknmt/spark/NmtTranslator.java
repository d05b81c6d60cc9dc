package io.sparknmt.spark;

import io.sparknmt.io.Schemas;
import io.sparknmt.io.UsageException;
import io.sparknmt.model.ModelBundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The translate job as a Spark ML {@link Transformer}: {@code new NmtTranslator().setModelPath(dir)
 * .setInputCol("text").setOutputCol("de").transform(df)} returns {@code df}, every column as it was and
 * in its partitioning, plus the output column, a struct of {@code translation, score, status, message,
 * src_tokens, tgt_tokens} (and {@code n_best} with more than one hypothesis, {@code sentences} with
 * emitSentences): the columns the job writes, with the same meaning.
 *
 * <p>Every decoding and batching option of the job is a Param of the same name in camel case
 * ({@code --beam-size}: {@code beamSize}); an unset Param is the job's default (mostly the model's
 * generation_config.json). The Params are turned into the job's own command line and resolved and
 * checked by its {@link JobSettings}, and the rows go through the job's own stages: {@link DedupPlan} on a
 * batch Dataset (each distinct source unit decoded once, the input's partitions and order kept;
 * {@code dedup=false} is the job's {@code --no-dedup}), {@link TranslateStage} on a stream: the two cannot
 * drift. {@code translationMemory} is the job's {@code --translation-memory} (batch only: on a stream, transform
 * each micro-batch in {@code foreachBatch}); with it, {@code transform} decodes the new units at once and adds
 * them to the memory before it returns. A bad setting is an {@link UsageException} at transform time, a bad model a
 * {@link io.sparknmt.model.ModelFormatException}.
 *
 * <p>The model is loaded and checked on the driver once per model path and JVM, and broadcast at each
 * {@code transform}. No action is run: a streaming Dataset works the same. Persisted in a Pipeline
 * ({@link DefaultParamsWritable}, {@link #read()}): the Params only, the model stays where it is.
 */
public class NmtTranslator extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    /** The input row, whole, beside the job's columns (a name no input column of the job may have). */
    private static final String ROW = "__nmt_input_row";
    private static final Map<String, ModelBundle> MODELS = new ConcurrentHashMap<>();

    private final String uid;

    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final IntParam beamSize;
    private final IntParam nBest;
    private final DoubleParam lengthPenalty;
    private final IntParam noRepeatNgramSize;
    private final DoubleParam repetitionPenalty;
    private final IntParam minOutputTokens;
    private final Param<String> earlyStopping;
    private final StringArrayParam ignoreGenerationKeys;
    private final IntParam maxBatchTokens;
    private final IntParam maxBatchSentences;
    private final IntParam maxInputTokens;
    private final IntParam maxOutputTokens;
    private final LongParam maxInputBytes;
    private final IntParam numPartitions;
    private final Param<String> targetLang;
    private final BooleanParam splitSentences;
    private final Param<String> sourceLang;
    private final BooleanParam emitSentences;
    private final IntParam kernelThreads;
    private final IntParam taskMemoryMb;
    private final Param<String> weights;
    private final Param<String> shortlist;
    private final BooleanParam dedup;
    private final Param<String> translationMemory;

    public NmtTranslator() {
        this(Identifiable.randomUID("nmtTranslator"));
    }

    public NmtTranslator(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "the model, as --model of the job: a directory, a Marian-native "
                + "release, any Hadoop FS URI, or a hub id resolved offline in the local Hugging Face cache");
        inputCol = new Param<>(this, "inputCol", "the column of texts to translate (string)");
        outputCol = new Param<>(this, "outputCol", "the output column: a struct of translation, score, status, message, "
                + "src_tokens, tgt_tokens (and n_best, sentences when asked)");
        beamSize = new IntParam(this, "beamSize", "--beam-size: beams; 1 = greedy (default: the model's num_beams)");
        nBest = new IntParam(this, "nBest", "--n-best: hypotheses per sentence in the n_best field (default: the model's "
                + "num_return_sequences, at most the beam size)");
        lengthPenalty = new DoubleParam(this, "lengthPenalty", "--length-penalty (default: the model's)");
        noRepeatNgramSize = new IntParam(this, "noRepeatNgramSize", "--no-repeat-ngram-size (default: the model's)");
        repetitionPenalty = new DoubleParam(this, "repetitionPenalty", "--repetition-penalty (default: the model's)");
        minOutputTokens = new IntParam(this, "minOutputTokens", "--min-output-tokens (default: the model's)");
        earlyStopping = new Param<>(this, "earlyStopping", "--early-stopping: true | false | never (default: the model's)");
        ignoreGenerationKeys = new StringArrayParam(this, "ignoreGenerationKeys", "--ignore-generation-key: keys of "
                + "generation_config.json to decode without");
        maxBatchTokens = new IntParam(this, "maxBatchTokens", "--max-batch-tokens: padded source tokens per batch (4096)");
        maxBatchSentences = new IntParam(this, "maxBatchSentences", "--max-batch-sentences: sentences per batch (64)");
        maxInputTokens = new IntParam(this, "maxInputTokens", "--max-input-tokens (default: the model's limit)");
        maxOutputTokens = new IntParam(this, "maxOutputTokens", "--max-output-tokens (default: the model's max_length - 1)");
        maxInputBytes = new LongParam(this, "maxInputBytes", "--max-input-bytes: a longer text is an error row (1 MiB)");
        numPartitions = new IntParam(this, "numPartitions", "--num-partitions: repartition to this many partitions "
                + "first (default: keep the input's partitioning and row order)");
        targetLang = new Param<>(this, "targetLang", "--target-lang: prepend >>xx<< (multilingual models)");
        splitSentences = new BooleanParam(this, "splitSentences", "--split-sentences: each text is a document");
        sourceLang = new Param<>(this, "sourceLang", "--source-lang: the sentence splitter's language");
        emitSentences = new BooleanParam(this, "emitSentences", "--emit-sentences: add the sentences field");
        kernelThreads = new IntParam(this, "kernelThreads", "--kernel-threads (0 = spark.task.cpus)");
        taskMemoryMb = new IntParam(this, "taskMemoryMb", "--task-memory-mb: memory budget of one task (512)");
        weights = new Param<>(this, "weights", "--weights: float (exact) | int8 | bf16 (opt-in), how executors keep the weights");
        shortlist = new Param<>(this, "shortlist", "--shortlist: a vocabulary shortlist file (opt-in; jobs/build-shortlist)");
        dedup = new BooleanParam(this, "dedup", "each distinct source unit decoded once in a batch Dataset (true; "
                + "false = --no-dedup). A streaming Dataset is always translated row by row");
        translationMemory = new Param<>(this, "translationMemory", "--translation-memory: reuse the units this memory "
                + "holds for this model and these options, and add the ones decoded (batch Datasets; on a stream, "
                + "transform each micro-batch in foreachBatch)");
        setDefault(inputCol, "text");
        setDefault(outputCol, "translation");
    }

    @Override
    public String uid() {
        return uid;
    }

    // -- Params: public no-argument methods, as Spark ML finds them by reflection ------------------------------

    public Param<String> modelPath() { return modelPath; }
    public Param<String> inputCol() { return inputCol; }
    public Param<String> outputCol() { return outputCol; }
    public IntParam beamSize() { return beamSize; }
    public IntParam nBest() { return nBest; }
    public DoubleParam lengthPenalty() { return lengthPenalty; }
    public IntParam noRepeatNgramSize() { return noRepeatNgramSize; }
    public DoubleParam repetitionPenalty() { return repetitionPenalty; }
    public IntParam minOutputTokens() { return minOutputTokens; }
    public Param<String> earlyStopping() { return earlyStopping; }
    public StringArrayParam ignoreGenerationKeys() { return ignoreGenerationKeys; }
    public IntParam maxBatchTokens() { return maxBatchTokens; }
    public IntParam maxBatchSentences() { return maxBatchSentences; }
    public IntParam maxInputTokens() { return maxInputTokens; }
    public IntParam maxOutputTokens() { return maxOutputTokens; }
    public LongParam maxInputBytes() { return maxInputBytes; }
    public IntParam numPartitions() { return numPartitions; }
    public Param<String> targetLang() { return targetLang; }
    public BooleanParam splitSentences() { return splitSentences; }
    public Param<String> sourceLang() { return sourceLang; }
    public BooleanParam emitSentences() { return emitSentences; }
    public IntParam kernelThreads() { return kernelThreads; }
    public IntParam taskMemoryMb() { return taskMemoryMb; }
    public Param<String> weights() { return weights; }
    public Param<String> shortlist() { return shortlist; }
    public BooleanParam dedup() { return dedup; }
    public Param<String> translationMemory() { return translationMemory; }

    // -- setters and getters -----------------------------------------------------------------------------------

    public NmtTranslator setModelPath(String v) { set(modelPath, v); return this; }
    public NmtTranslator setInputCol(String v) { set(inputCol, v); return this; }
    public NmtTranslator setOutputCol(String v) { set(outputCol, v); return this; }
    public NmtTranslator setBeamSize(int v) { set(beamSize, v); return this; }
    public NmtTranslator setNBest(int v) { set(nBest, v); return this; }
    public NmtTranslator setLengthPenalty(double v) { set(lengthPenalty, v); return this; }
    public NmtTranslator setNoRepeatNgramSize(int v) { set(noRepeatNgramSize, v); return this; }
    public NmtTranslator setRepetitionPenalty(double v) { set(repetitionPenalty, v); return this; }
    public NmtTranslator setMinOutputTokens(int v) { set(minOutputTokens, v); return this; }
    public NmtTranslator setEarlyStopping(String v) { set(earlyStopping, v); return this; }
    public NmtTranslator setIgnoreGenerationKeys(String[] v) { set(ignoreGenerationKeys, v); return this; }
    public NmtTranslator setMaxBatchTokens(int v) { set(maxBatchTokens, v); return this; }
    public NmtTranslator setMaxBatchSentences(int v) { set(maxBatchSentences, v); return this; }
    public NmtTranslator setMaxInputTokens(int v) { set(maxInputTokens, v); return this; }
    public NmtTranslator setMaxOutputTokens(int v) { set(maxOutputTokens, v); return this; }
    public NmtTranslator setMaxInputBytes(long v) { set(maxInputBytes, v); return this; }
    public NmtTranslator setNumPartitions(int v) { set(numPartitions, v); return this; }
    public NmtTranslator setTargetLang(String v) { set(targetLang, v); return this; }
    public NmtTranslator setSplitSentences(boolean v) { set(splitSentences, v); return this; }
    public NmtTranslator setSourceLang(String v) { set(sourceLang, v); return this; }
    public NmtTranslator setEmitSentences(boolean v) { set(emitSentences, v); return this; }
    public NmtTranslator setKernelThreads(int v) { set(kernelThreads, v); return this; }
    public NmtTranslator setTaskMemoryMb(int v) { set(taskMemoryMb, v); return this; }
    public NmtTranslator setWeights(String v) { set(weights, v); return this; }
    public NmtTranslator setShortlist(String v) { set(shortlist, v); return this; }
    public NmtTranslator setDedup(boolean v) { set(dedup, v); return this; }
    public NmtTranslator setTranslationMemory(String v) { set(translationMemory, v); return this; }

    public String getModelPath() { return getOrDefault(modelPath); }
    public String getInputCol() { return getOrDefault(inputCol); }
    public String getOutputCol() { return getOrDefault(outputCol); }

    // -- the job's settings -------------------------------------------------------------------------------------

    /** The Params as the job's command line (placeholders for its input and output, which are not used here). */
    List<String> jobArgs() {
        if (!isDefined(modelPath)) {
            throw new UsageException("NmtTranslator: modelPath is not set");
        }
        List<String> a = new ArrayList<>(List.of("--model", getModelPath(), "--input", "<dataframe>", "--output",
                "<dataframe>", "--input-format", "parquet", "--output-format", "parquet"));
        arg(a, "--beam-size", beamSize);
        arg(a, "--n-best", nBest);
        arg(a, "--length-penalty", lengthPenalty);
        arg(a, "--no-repeat-ngram-size", noRepeatNgramSize);
        arg(a, "--repetition-penalty", repetitionPenalty);
        arg(a, "--min-output-tokens", minOutputTokens);
        arg(a, "--early-stopping", earlyStopping);
        if (isDefined(ignoreGenerationKeys) && getOrDefault(ignoreGenerationKeys).length > 0) {
            a.add("--ignore-generation-key");
            a.add(String.join(",", getOrDefault(ignoreGenerationKeys)));
        }
        arg(a, "--max-batch-tokens", maxBatchTokens);
        arg(a, "--max-batch-sentences", maxBatchSentences);
        arg(a, "--max-input-tokens", maxInputTokens);
        arg(a, "--max-output-tokens", maxOutputTokens);
        arg(a, "--max-input-bytes", maxInputBytes);
        arg(a, "--num-partitions", numPartitions);
        arg(a, "--target-lang", targetLang);
        arg(a, "--source-lang", sourceLang);
        arg(a, "--kernel-threads", kernelThreads);
        arg(a, "--task-memory-mb", taskMemoryMb);
        arg(a, "--weights", weights);
        arg(a, "--shortlist", shortlist);
        if (isDefined(splitSentences) && (Boolean) getOrDefault(splitSentences)) {
            a.add("--split-sentences");
        }
        if (isDefined(emitSentences) && (Boolean) getOrDefault(emitSentences)) {
            a.add("--emit-sentences");
        }
        if (isDefined(dedup) && !(Boolean) getOrDefault(dedup)) {
            a.add("--no-dedup");
        }
        arg(a, "--translation-memory", translationMemory);
        return a;
    }

    private void arg(List<String> a, String option, Param<?> p) {
        if (isDefined(p)) {
            a.add(option);
            a.add(String.valueOf(getOrDefault(p)));
        }
    }

    /** The job's settings for these Params, checked as the job checks them. */
    JobSettings settings() {
        try {
            return JobSettings.parse(jobArgs().toArray(new String[0]));
        } catch (picocli.CommandLine.ParameterException e) {
            throw new UsageException("NmtTranslator: " + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The model of {@code settings}, loaded and checked once per model path in this JVM. */
    static ModelBundle model(JobSettings settings, SparkSession spark) {
        String key = settings.shortlist() == null ? settings.model() : settings.model() + "\u0000" + settings.shortlist();
        return MODELS.computeIfAbsent(key, k -> {
            java.nio.file.Path dir = ModelFetcher.localDirectory(settings.model(), spark.sparkContext().hadoopConfiguration());
            try {
                return TranslateJob.loadModel(dir, settings.shortlist());
            } finally {
                ModelFetcher.release(dir);
            }
        });
    }

    /** The output column's struct: the job's output columns, the id, source, file and record left out. */
    static StructType outputStruct(PartitionSettings p) {
        StructType all = Schemas.output(Schemas.INPUT, p.nBest() > 1, false, p.emitSentences());
        StructType s = new StructType();
        for (String name : structFields(p)) {
            s = s.add(all.apply(name));
        }
        return s;
    }

    private static List<String> structFields(PartitionSettings p) {
        List<String> names = new ArrayList<>(List.of(Schemas.TRANSLATION, Schemas.SCORE, Schemas.STATUS, Schemas.MESSAGE,
                Schemas.SRC_TOKEN_COUNT, Schemas.TGT_TOKEN_COUNT));
        if (p.nBest() > 1) {
            names.add(Schemas.N_BEST);
        }
        if (p.emitSentences()) {
            names.add(Schemas.SENTENCES);
        }
        return names;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return transformSchema(schema, settings().partitionSettings(model(settings(), SparkSession.active())));
    }

    private StructType transformSchema(StructType schema, PartitionSettings p) {
        String in = getInputCol();
        String out = getOutputCol();
        if (!java.util.Arrays.asList(schema.fieldNames()).contains(in)) {
            throw new UsageException("NmtTranslator: input column " + in + " is not among " + java.util.Arrays.toString(schema.fieldNames()));
        }
        if (!schema.apply(in).dataType().equals(DataTypes.StringType)) {
            throw new UsageException("NmtTranslator: input column " + in + " must be a string, is " + schema.apply(in).dataType().simpleString());
        }
        if (java.util.Arrays.asList(schema.fieldNames()).contains(out)) {
            throw new UsageException("NmtTranslator: output column " + out + " already exists");
        }
        return schema.add(out, outputStruct(p), false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        SparkSession spark = dataset.sparkSession();
        JobSettings settings = settings();
        ModelBundle bundle = model(settings, spark);
        PartitionSettings p = settings.partitionSettings(bundle);
        StructType schema = dataset.schema();
        transformSchema(schema, p);
        Broadcast<ModelBundle> model = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(bundle);
        Integer partitions = isDefined(numPartitions) ? (Integer) getOrDefault(numPartitions) : null;
        Dataset<Row> input = asJobInput(dataset, settings);
        if (dataset.isStreaming() && settings.translationMemory() != null) {
            throw new UsageException("NmtTranslator: translationMemory needs a batch Dataset; on a stream, "
                    + "call transform on each micro-batch inside foreachBatch");
        }
        Dataset<Row> translated = dataset.isStreaming() || !settings.dedup()
                ? TranslateStage.translate(input, model, p, partitions, null, null, null)
                : dedupTranslate(spark, input, model, bundle, settings, p, partitions);
        List<Column> cols = new ArrayList<>();
        for (StructField f : schema.fields()) {
            cols.add(functions.col(ROW).getField(f.name()).as(f.name(), f.metadata()));
        }
        List<Column> fields = new ArrayList<>();
        for (String name : structFields(p)) {
            fields.add(functions.col(name));
        }
        cols.add(functions.struct(fields.toArray(new Column[0])).as(getOutputCol()));
        return translated.select(cols.toArray(new Column[0]));
    }

    /**
     * Each distinct unit decoded once ({@link DedupPlan}), lazily. With a translation memory the distinct
     * units are decoded now (an action), their outcomes added to the memory, and the returned rows are
     * built from the memory: reading them decodes nothing more (only units that failed, which the memory
     * does not keep, are decoded again).
     */
    private static Dataset<Row> dedupTranslate(SparkSession spark, Dataset<Row> input, Broadcast<ModelBundle> model,
                                               ModelBundle bundle, JobSettings settings, PartitionSettings p,
                                               Integer partitions) {
        TranslationMemory memory = TranslationMemory.of(settings, bundle, spark.sparkContext().hadoopConfiguration());
        if (memory == null) {
            return new DedupPlan(spark, model, p, null, null, null, false).translate(input, partitions, null);
        }
        DedupPlan now = new DedupPlan(spark, model, p, null, null, null, true);
        now.translate(input, partitions, memory.lookup(spark));
        try {
            memory.add(now.outcomes, spark.sparkContext().applicationId(), System.currentTimeMillis());
        } finally {
            now.release();
        }
        return new DedupPlan(spark, model, p, null, null, null, false).translate(input, partitions, memory.lookup(spark));
    }

    /**
     * {@code dataset} as the rows the job's readers make ({@link Schemas#input}): the text column as the
     * source, a text longer than --max-input-bytes an input error, and the whole input row as the one kept
     * column, to be unpacked after translation.
     */
    private Dataset<Row> asJobInput(Dataset<?> dataset, JobSettings settings) {
        Column text = functions.col(getInputCol());
        long maxBytes = settings.columns().maxInputBytes();
        Column bytes = functions.octet_length(text);
        Column error = functions.when(bytes.gt(maxBytes), functions.concat(functions.lit("column " + getInputCol() + ": "),
                bytes.cast(DataTypes.StringType), functions.lit(" bytes, over --max-input-bytes " + maxBytes)));
        Column[] all = java.util.Arrays.stream(dataset.columns()).map(functions::col).toArray(Column[]::new);
        Dataset<Row> rows = dataset.select(
                functions.lit(0L).as(Schemas.RECORD),
                functions.lit(null).cast(DataTypes.LongType).as(Schemas.ID),
                functions.when(error.isNull(), text).as(Schemas.SOURCE),
                functions.lit(null).cast(Schemas.INT_LIST).as(Schemas.SOURCE_TOKENS),
                error.as(Schemas.INPUT_ERROR),
                functions.lit(null).cast(DataTypes.StringType).as(Schemas.SOURCE_FILE),
                functions.struct(all).as(ROW));
        return rows.mapPartitions(new RecordNumbers(), org.apache.spark.sql.Encoders.row(rows.schema()));
    }

    /**
     * Numbers the rows as {@code monotonically_increasing_id} would (partition index in the upper 31 bits),
     * which Spark refuses on a streaming Dataset: unique within a batch, and within each micro-batch of a stream.
     */
    static final class RecordNumbers implements org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public java.util.Iterator<Row> call(java.util.Iterator<Row> rows) {
            org.apache.spark.TaskContext ctx = org.apache.spark.TaskContext.get();
            long base = (ctx == null ? 0L : (long) ctx.partitionId()) << 33;
            return new java.util.Iterator<>() {
                long next = base;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    Row r = rows.next();
                    Object[] v = new Object[r.length()];
                    v[0] = next++;
                    for (int i = 1; i < v.length; i++) {
                        v[i] = r.get(i);
                    }
                    return org.apache.spark.sql.RowFactory.create(v);
                }
            };
        }
    }

    @Override
    public NmtTranslator copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads a saved NmtTranslator (Spark ML calls this by reflection when it loads a Pipeline). */
    public static MLReader<NmtTranslator> read() {
        return new DefaultParamsReader<>();
    }

    public static NmtTranslator load(String path) {
        return read().load(path);
    }
}
