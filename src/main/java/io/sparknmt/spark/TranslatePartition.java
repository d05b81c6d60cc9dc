package io.sparknmt.spark;

import io.sparknmt.decode.Batches;
import io.sparknmt.decode.DecodeOptions;
import io.sparknmt.decode.ModelBundle;
import io.sparknmt.decode.Translation;
import io.sparknmt.decode.Translator;
import io.sparknmt.kernel.KernelThreads;
import io.sparknmt.model.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.ArraySeq;

/**
 * The per-partition translation: reads a window of rows, tokenizes them, groups them into
 * length-sorted batches bounded by tokens and sentences, moves each batch as an Arrow
 * {@code list<int32>} vector from the task's own child allocator, decodes, detokenizes and emits
 * exactly one output row per input row. A row that cannot be translated becomes a row with
 * status {@code error} and a message; it never fails the task.
 *
 * <p>The Arrow allocator is closed when the iterator ends and, should the task fail first, by a
 * task-completion listener: whichever comes first, once.
 */
public final class TranslatePartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TranslatePartition.class);

    /** Output status values. */
    public static final String OK = "ok";
    public static final String EMPTY = "empty";
    public static final String TRUNCATED = "truncated";
    public static final String ERROR = "error";

    // The model is broadcast: it is large, read-only and needed by every task of every executor.
    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    /** "executor\ttarget tokens\ttranslate nanos" per finished task, for per-executor throughput. */
    private final CollectionAccumulator<String> taskStats;

    TranslatePartition(Broadcast<ModelBundle> model, PartitionSettings settings, CollectionAccumulator<String> taskStats) {
        this.model = model;
        this.settings = settings;
        this.taskStats = taskStats;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        Translator translator = ExecutorModels.get(model);
        TaskContext ctx = TaskContext.get();
        String name = "spark-nmt-task-" + (ctx == null ? "driver" : ctx.taskAttemptId());
        BufferAllocator allocator = ArrowUtils.rootAllocator().newChildAllocator(name, 0, settings.taskMemoryBytes());
        AtomicBoolean closed = new AtomicBoolean();
        Worker worker = new Worker(translator, settings, allocator);
        int threads = settings.kernelThreads() > 0 ? settings.kernelThreads() : ctx == null ? 1 : Math.max(1, ctx.cpus());
        KernelThreads kernelThreads = KernelThreads.open(threads);
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                kernelThreads.close();
                worker.workspace.close(); // the task's off-heap KV caches
                allocator.close(); // throws if a buffer leaked: a bug, and the task says so
                if (taskStats != null) {
                    String executor = org.apache.spark.SparkEnv.get() == null ? "driver" : org.apache.spark.SparkEnv.get().executorId();
                    taskStats.add(executor + "\t" + worker.targetTokens + "\t" + worker.translateNanos);
                }
            }
        };
        if (ctx != null) {
            ctx.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) c -> close.run());
        }
        return new Rows(input, worker, close);
    }

    /** Pulls windows of input, emits their translated rows, closes the allocator at the end. */
    private static final class Rows implements Iterator<Row> {
        private final Iterator<Row> input;
        private final Worker worker;
        private final Runnable close;
        private Iterator<Row> pending = java.util.Collections.emptyIterator();

        Rows(Iterator<Row> input, Worker worker, Runnable close) {
            this.input = input;
            this.worker = worker;
            this.close = close;
        }

        @Override
        public boolean hasNext() {
            while (!pending.hasNext()) {
                if (!input.hasNext()) {
                    close.run();
                    return false;
                }
                List<Row> window = new ArrayList<>();
                while (input.hasNext() && window.size() < worker.settings.windowRows()) {
                    window.add(input.next());
                }
                pending = worker.translateWindow(window).iterator();
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return pending.next();
        }
    }

    /** One input row on its way through: what we know about it so far. */
    private static final class Item {
        final long id;
        final String source;
        final String file;
        int[] ids;          // source ids incl. </s>, null when not translatable
        int srcTokens;
        String status;
        String message;
        Translation translation;

        Item(long id, String source, String file) {
            this.id = id;
            this.source = source;
            this.file = file;
        }

        void fail(String status, String message) {
            this.status = status;
            this.message = message;
            this.ids = null;
        }
    }

    /** The translation work of one task. Not thread-safe; one per task. */
    static final class Worker {
        final Translator translator;
        final PartitionSettings settings;
        final BufferAllocator allocator;
        final DecodeOptions options;
        /** Activations and KV caches, sized by the first batches and reused by the later ones. */
        final Workspace workspace = new Workspace();
        long targetTokens;
        long translateNanos;

        Worker(Translator translator, PartitionSettings settings, BufferAllocator allocator) {
            this.translator = translator;
            this.settings = settings;
            this.allocator = allocator;
            this.options = new DecodeOptions(settings.beamSize(), settings.maxLength(),
                    translator.generation().lengthPenalty(), settings.nBest());
        }

        List<Row> translateWindow(List<Row> rows) {
            List<Item> items = new ArrayList<>(rows.size());
            for (Row r : rows) {
                items.add(prepare(r));
            }
            List<Item> todo = new ArrayList<>();
            for (Item it : items) {
                if (it.ids != null) {
                    todo.add(it);
                }
            }
            todo.sort(Comparator.comparingInt(it -> it.ids.length));
            for (int start = 0; start < todo.size(); ) {
                int end = Batches.end(i -> todo.get(i).ids.length, start, todo.size(),
                        settings.maxBatchSentences(), settings.maxBatchTokens());
                translateBatch(todo.subList(start, end));
                start = end;
            }
            List<Row> out = new ArrayList<>(items.size());
            for (Item it : items) {
                out.add(toRow(it));
            }
            return out;
        }

        private Item prepare(Row r) {
            long id = r.getLong(0);
            String source = r.isNullAt(1) ? null : r.getString(1);
            Item it = new Item(id, source, r.isNullAt(4) ? null : r.getString(4));
            try {
                if (!r.isNullAt(3)) {
                    it.fail(ERROR, r.getString(3));
                } else if (!r.isNullAt(2)) {
                    List<Integer> list = r.getList(2);
                    it.ids = list.stream().mapToInt(Integer::intValue).toArray();
                    checkIds(it);
                } else if (source == null) {
                    it.fail(EMPTY, "input is null");
                } else if (io.sparknmt.io.TextChecks.invisibleOnly(source)) {
                    it.fail(EMPTY, io.sparknmt.io.TextChecks.emptyReason(source));
                } else {
                    String text = settings.targetLang() == null ? source : ">>" + settings.targetLang() + "<< " + source;
                    it.ids = translator.tokenizer().encode(text);
                }
                if (it.ids != null) {
                    it.srcTokens = it.ids.length;
                    if (it.ids.length > settings.maxInputTokens()) {
                        int[] cut = Arrays.copyOf(it.ids, settings.maxInputTokens());
                        cut[cut.length - 1] = translator.tokenizer().eosId();
                        it.status = TRUNCATED;
                        it.message = "source cut from " + it.ids.length + " to " + cut.length
                                + " tokens (--max-input-tokens)";
                        it.ids = cut;
                    }
                }
            } catch (RuntimeException e) {
                it.fail(ERROR, "tokenization failed: " + e);
            }
            return it;
        }

        private void checkIds(Item it) {
            int vocab = translator.model().config().vocabSize();
            int eos = translator.tokenizer().eosId();
            if (it.ids.length == 0) {
                it.fail(EMPTY, "token list is empty");
                return;
            }
            for (int id : it.ids) {
                if (id < 0 || id >= vocab) {
                    it.fail(ERROR, "token id " + id + " is outside the source vocabulary [0, " + vocab + ")");
                    return;
                }
            }
            if (it.ids[it.ids.length - 1] != eos) {
                it.ids = Arrays.copyOf(it.ids, it.ids.length + 1);
                it.ids[it.ids.length - 1] = eos;
            }
        }

        /**
         * Decodes a batch. A batch whose decoder state would exceed the task's memory budget is
         * split first; one that runs out of memory is retried in halves, one that fails otherwise
         * sentence by sentence, so that only the culprit fails.
         */
        private void translateBatch(List<Item> batch) {
            long need = decoderBytes(batch);
            if (need > settings.taskMemoryBytes()) {
                if (batch.size() == 1) {
                    batch.get(0).fail(ERROR, String.format("decoding needs about %d MB (KV cache of %d beams), more "
                                    + "than the task budget of %d MB (--task-memory-mb)",
                            need >> 20, settings.beamSize(), settings.taskMemoryBytes() >> 20));
                    return;
                }
                int half = batch.size() / 2;
                translateBatch(batch.subList(0, half));
                translateBatch(batch.subList(half, batch.size()));
                return;
            }
            List<int[]> seqs = new ArrayList<>(batch.size());
            for (Item it : batch) {
                seqs.add(it.ids);
            }
            long t0 = System.nanoTime();
            try (TokenBatch tokens = TokenBatch.of(allocator, seqs)) {
                List<Translation> got = translator.translateIds(tokens.toArrays(), options, workspace);
                translateNanos += System.nanoTime() - t0;
                for (Translation t : got) {
                    targetTokens += t.best().generatedLength();
                }
                for (int i = 0; i < batch.size(); i++) {
                    accept(batch.get(i), got.get(i));
                }
            } catch (OutOfMemoryError e) {
                // One decoder-state block (heap, or off-heap past -XX:MaxDirectMemorySize) could
                // not be allocated. Free the workspace's off-heap blocks and retry in halves.
                workspace.release();
                if (batch.size() == 1) {
                    batch.get(0).fail(ERROR, "translation failed: " + e);
                    return;
                }
                LOG.warn("a batch of {} sentences ran out of memory ({}); retrying it in halves", batch.size(),
                        e.getMessage());
                int half = batch.size() / 2;
                translateBatch(batch.subList(0, half));
                translateBatch(batch.subList(half, batch.size()));
            } catch (RuntimeException e) {
                // a bad sentence (or a bug it triggers): retry one by one so that only it fails
                if (batch.size() == 1) {
                    batch.get(0).fail(ERROR, "translation failed: " + e);
                    return;
                }
                LOG.warn("a batch of {} sentences failed ({}); retrying its sentences one by one", batch.size(),
                        e.toString());
                for (Item it : batch) {
                    translateBatch(List.of(it));
                }
            }
        }

        /**
         * The decoder's memory for a batch: self-attention KV cache (reordered in place for beam
         * search) for the length the decoder reserves up front (2 x source + 10, at most the
         * output limit; it grows past that only for runaway outputs), cross-attention keys/values,
         * logits.
         */
        long decoderBytes(List<Item> batch) {
            var c = translator.model().config();
            long rows = (long) batch.size() * settings.beamSize();
            long srcLen = batch.stream().mapToInt(i -> i.ids.length).max().orElse(1);
            long steps = Math.min(settings.maxLength(), 2 * srcLen + 10);
            long kv = 2L * c.decoderLayers() * rows * steps * c.dModel() * 4;
            long cross = 2L * c.decoderLayers() * batch.size() * srcLen * c.dModel() * 4;
            long logits = rows * c.decoderVocabSize() * 4;
            return kv + cross + logits;
        }

        private void accept(Item it, Translation t) {
            it.translation = t;
            // With forced_eos_token_id a cut translation still ends in </s>: judge by the length used.
            if (!t.best().finished() || t.best().generatedLength() >= settings.maxLength() - 1) {
                it.status = TRUNCATED;
                it.message = join(it.message, "translation stopped at the output limit of "
                        + (settings.maxLength() - 1) + " tokens (--max-output-tokens)");
            } else if (it.status == null) {
                it.status = OK;
            }
        }

        private static String join(String a, String b) {
            return a == null ? b : a + "; " + b;
        }

        private Row toRow(Item it) {
            Translation t = it.translation;
            List<Object> v = new ArrayList<>(10);
            v.add(it.id);
            v.add(it.source);
            v.add(t == null ? (EMPTY.equals(it.status) ? "" : null) : t.text());
            v.add(t == null ? null : t.best().score());
            v.add(it.status == null ? ERROR : it.status);
            v.add(it.status == null ? "no result (internal error)" : it.message);
            v.add(it.srcTokens);
            v.add(t == null ? 0 : t.best().generatedLength());
            v.add(it.file);
            if (settings.nBest() > 1) {
                if (t == null) {
                    v.add(null);
                } else {
                    List<Row> nb = new ArrayList<>();
                    for (Translation.Scored s : t.nBest()) {
                        nb.add(RowFactory.create(s.text(), s.hypothesis().score()));
                    }
                    v.add(ArraySeq.unsafeWrapArray(nb.toArray()));
                }
            }
            if (settings.emitTokens()) {
                v.add(t == null ? null : ArraySeq.unsafeWrapArray(Arrays.stream(t.best().tokens()).boxed().toArray()));
            }
            return RowFactory.create(v.toArray());
        }
    }
}
