package io.sparknmt.spark;

import io.sparknmt.io.ScalaSeqs;
import io.sparknmt.io.Schemas;
import io.sparknmt.model.ModelBundle;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;

/**
 * The encode stage of the dedup path: each input row through the same {@link RowCodec#read} as
 * {@link TranslatePartition} (tokenize with the language prefix, check pre-tokenized ids, carry a
 * reader's error, cut long sources), kept as the input columns plus its units ({@link Units#UNIT}):
 * the ids, their key, and what the codec settled (status, message, source tokens). Rows keep
 * their partition and order. Uses the executor's translator only for its tokenizer.
 */
final class EncodePartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    private final StructType input;

    EncodePartition(Broadcast<ModelBundle> model, PartitionSettings settings, StructType input) {
        this.model = model;
        this.settings = settings;
        this.input = input;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        ExecutorModels.Lease lease = ExecutorModels.acquire(model);
        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                lease.close();
            }
        };
        TaskContext ctx = TaskContext.get();
        if (ctx != null) {
            ctx.addTaskCompletionListener((TaskCompletionListener) c -> close.run());
        }
        RowCodec codec = new RowCodec(lease.translator(), settings);
        int tokensAt = Arrays.asList(input.fieldNames()).indexOf(Schemas.SOURCE_TOKENS);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean more = rows.hasNext();
                if (!more) {
                    close.run();
                }
                return more;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Row r = rows.next();
                Item it = codec.read(r);
                Object[] v = new Object[input.size() + 1];
                for (int i = 0; i < input.size(); i++) {
                    v[i] = i == tokensAt ? null : r.get(i); // the ids travel in the unit
                }
                v[input.size()] = ScalaSeqs.wrap(new Object[]{unit(it)});
                return RowFactory.create(v);
            }
        };
    }

    /** An item as a unit row ({@link Units#UNIT}). */
    static Row unit(Item it) {
        Object ids = it.ids == null ? null : ScalaSeqs.wrap(Arrays.stream(it.ids).boxed().toArray());
        return RowFactory.create(it.ids == null ? null : Units.key(it.ids), ids, it.srcTokens,
                it.status == null ? null : it.status.value(), it.message);
    }

    /** Puts a unit row back into an item made from the same input row ({@link RowCodec#shell}). */
    static void apply(Row unit, Item it) {
        it.srcTokens = unit.getInt(2);
        it.status = Units.status(unit.isNullAt(3) ? null : unit.getString(3));
        it.message = unit.isNullAt(4) ? null : unit.getString(4);
        if (!unit.isNullAt(1)) {
            java.util.List<Integer> ids = unit.getList(1);
            it.ids = ids.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
