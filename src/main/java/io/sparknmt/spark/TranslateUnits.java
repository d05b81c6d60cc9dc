package io.sparknmt.spark;

import io.sparknmt.decode.Translation;
import io.sparknmt.io.RowStatus;
import io.sparknmt.io.ScalaSeqs;
import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The translate stage of the dedup path: distinct units (key, ids, the partitions that need
 * them, occurrences) in, one {@link Units#OUTCOME} row per unit out. Windows of units are
 * length-sorted and batched as {@link TranslatePartition} does, through the same
 * {@link BatchRunner}, so a unit gets the same {@link Translation} (or the same failure) as a
 * row with its ids gets there. Each unit is decoded once: the units are distinct.
 */
final class TranslateUnits implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    private final CollectionAccumulator<TaskStats> taskStats;
    /** Units handed to the batch runner (the summary's units translated). */
    private final LongAccumulator decoded;
    /** Progress (may be null): rows done (a unit's occurrences, when a row is one unit) and tokens generated. */
    private final LongAccumulator rowsDone;
    private final LongAccumulator tokensDone;

    TranslateUnits(Broadcast<ModelBundle> model, PartitionSettings settings, CollectionAccumulator<TaskStats> taskStats,
                   LongAccumulator decoded, LongAccumulator rowsDone, LongAccumulator tokensDone) {
        this.model = model;
        this.settings = settings;
        this.taskStats = taskStats;
        this.decoded = decoded;
        this.rowsDone = rowsDone;
        this.tokensDone = tokensDone;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        if (!input.hasNext()) {
            return Collections.emptyIterator(); // no model lease, no allocator for an empty partition
        }
        TaskResources task = TaskResources.open(model, settings, taskStats);
        return new Iterator<>() {
            private Iterator<Row> pending = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!pending.hasNext()) {
                    if (!input.hasNext()) {
                        task.close();
                        return false;
                    }
                    List<Row> window = new ArrayList<>();
                    while (input.hasNext() && window.size() < settings.windowRows()) {
                        window.add(input.next());
                    }
                    pending = translate(window, task).iterator();
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
        };
    }

    private List<Row> translate(List<Row> window, TaskResources task) {
        List<Item> items = new ArrayList<>(window.size());
        for (Row r : window) {
            Item it = new Item(0, null, null);
            List<Integer> ids = r.getList(r.fieldIndex(Units.IDS));
            it.ids = ids.stream().mapToInt(Integer::intValue).toArray();
            items.add(it);
        }
        long tokensBefore = task.runner().targetTokens();
        TaskResources.translate(items, task.runner(), settings);
        decoded.add(items.size());
        if (tokensDone != null) {
            tokensDone.add(task.runner().targetTokens() - tokensBefore);
        }
        if (rowsDone != null && !settings.splitSentences()) {
            long rows = 0;
            for (Row r : window) {
                rows += r.getLong(r.fieldIndex(Units.OCCURRENCES));
            }
            rowsDone.add(rows);
        }
        List<Row> out = new ArrayList<>(window.size());
        for (int i = 0; i < window.size(); i++) {
            Row r = window.get(i);
            out.add(outcome(r.getString(r.fieldIndex(Units.KEY)), r.get(r.fieldIndex(Units.PARTS)),
                    r.getLong(r.fieldIndex(Units.OCCURRENCES)), items.get(i), settings.maxLength()));
        }
        return out;
    }

    /** An outcome row ({@link Units#OUTCOME}) of a unit the batch runner saw (translated, or failed with a reason). */
    static Row outcome(String key, Object parts, long occurrences, Item it, int maxLength) {
        Translation t = it.translation;
        if (t == null) {
            RowStatus st = it.status == null ? RowStatus.ERROR : it.status;
            String msg = it.status == null ? "no result (internal error)" : it.message;
            return RowFactory.create(key, parts, occurrences, null, st.value(), msg, it.decodeNanos, false,
                    null, null, null, null, null);
        }
        return RowFactory.create(key, parts, occurrences, Units.encode(t), null, null, it.decodeNanos, false,
                t.text(), t.best().score(), Units.statusOf(t, maxLength).value(), t.best().generatedLength(),
                ScalaSeqs.wrap(Arrays.stream(t.best().tokens()).boxed().toArray()));
    }
}
