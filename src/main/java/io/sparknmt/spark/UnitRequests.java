package io.sparknmt.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The map side of finding distinct units: one record per distinct unit key of a partition of
 * encoded rows ({@link Units#REQUEST}: key, ids, this partition's index, how many of its units
 * have the key). A sentence repeated a million times sends one record per map partition, not a
 * million. The set is bounded by the partition's rows (the rows themselves are already held by
 * the persisted encoded partition).
 */
final class UnitRequests implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        int part = TaskContext.getPartitionId();
        Map<String, Object[]> seen = new LinkedHashMap<>();
        while (rows.hasNext()) {
            Row r = rows.next();
            List<Row> units = r.getList(r.fieldIndex(Units.UNITS));
            for (Row u : units) {
                if (u.isNullAt(0)) {
                    continue;
                }
                Object[] v = seen.computeIfAbsent(u.getString(0), k -> new Object[]{k, u.get(1), part, 0L});
                v[3] = (Long) v[3] + 1;
            }
        }
        List<Row> out = new ArrayList<>(seen.size());
        for (Object[] v : seen.values()) {
            out.add(RowFactory.create(v));
        }
        return out.iterator();
    }
}
