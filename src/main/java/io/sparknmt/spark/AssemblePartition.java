package io.sparknmt.spark;

import io.sparknmt.io.RowStatus;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.sql.Row;

/**
 * The last stage of the dedup path, zipped with the encoded rows' own partition: the outcomes of
 * this partition's distinct units (routed here, one per key) are looked up by key, each row's
 * items get their unit's translation or failure, and {@link RowCodec#write} makes the output row
 * exactly as {@link TranslatePartition} would. The rows never leave their partition: the output
 * has the partitions and the row order of --no-dedup.
 */
final class AssemblePartition implements FlatMapFunction2<Iterator<Row>, Iterator<byte[]>, Row> {
    private static final long serialVersionUID = 1L;

    private final PartitionSettings settings;

    AssemblePartition(PartitionSettings settings) {
        this.settings = settings;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> encoded, Iterator<byte[]> routed) {
        // bounded by this partition's distinct units
        Map<String, Units.Outcome> outcomes = new HashMap<>();
        while (routed.hasNext()) {
            Units.Outcome o = Units.Outcome.of(routed.next());
            outcomes.put(o.key(), o);
        }
        RowCodec codec = new RowCodec(null, settings); // writes only
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return encoded.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Row r = encoded.next();
                List<Row> units = r.getList(r.fieldIndex(Units.UNITS));
                if (units.size() != 1) {
                    // A row of several units (sentences of a document) is assembled from its units in
                    // order by the sentence splitter's pure function; until then a row has one unit.
                    throw new IllegalStateException("a row of " + units.size() + " units: not supported yet");
                }
                Item it = RowCodec.shell(r);
                EncodePartition.apply(units.get(0), it);
                fill(it, units.get(0), outcomes);
                return codec.write(it);
            }
        };
    }

    /** The unit's outcome into its item: the translation, or the failure of its batch. */
    static void fill(Item it, Row unit, Map<String, Units.Outcome> outcomes) {
        if (unit.isNullAt(0)) {
            return; // not translated: the codec settled why when it read the row
        }
        Units.Outcome o = outcomes.get(unit.getString(0));
        if (o == null) {
            it.fail(RowStatus.ERROR, "no translation came back for this source (internal error)");
        } else if (o.translation() != null) {
            it.translation = o.translation();
        } else {
            it.fail(o.failStatus(), o.failMessage());
        }
    }
}
