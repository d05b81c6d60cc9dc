package io.sparknmt.spark;

import io.sparknmt.io.ScalaSeqs;
import io.sparknmt.model.ModelBundle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The encode stage of the dedup path and the map side of finding distinct units: each input row
 * of the partition through the same {@link RowCodec#read} as {@link TranslatePartition}
 * (tokenize with the language prefix, check pre-tokenized ids, carry a reader's error, cut long
 * sources), then one record per distinct unit key of the partition ({@link Units#REQUEST}: key,
 * ids, this partition's index, how many of its units have the key). A sentence repeated a
 * million times sends one record per map partition, not a million. The map is bounded by the
 * partition's distinct units; the rows are not kept.
 */
final class UnitRequests implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;

    private final Broadcast<ModelBundle> model;
    private final PartitionSettings settings;
    private final org.apache.spark.sql.types.StructType inputSchema;

    UnitRequests(Broadcast<ModelBundle> model, PartitionSettings settings, org.apache.spark.sql.types.StructType inputSchema) {
        this.model = model;
        this.settings = settings;
        this.inputSchema = inputSchema;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        int part = TaskContext.getPartitionId();
        Map<String, Object[]> seen = new LinkedHashMap<>();
        try (ExecutorModels.Lease lease = ExecutorModels.acquire(model, settings.weights())) {
            RowCodec codec = new RowCodec(lease.translator(), settings, inputSchema);
            List<Item> units = new ArrayList<>();
            while (rows.hasNext()) {
                units.clear();
                Units.of(codec.read(rows.next()), units);
                for (Item u : units) {
                    Object[] v = seen.computeIfAbsent(Units.key(u.ids),
                            k -> new Object[]{k, ScalaSeqs.wrap(Arrays.stream(u.ids).boxed().toArray()), part, 0L});
                    v[3] = (Long) v[3] + 1;
                }
            }
        }
        List<Row> out = new ArrayList<>(seen.size());
        for (Object[] v : seen.values()) {
            out.add(RowFactory.create(v));
        }
        return out.iterator();
    }
}
