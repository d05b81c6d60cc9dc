package io.sparknmt.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.SeekableReadChannel;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.ByteArrayReadableSeekableByteChannel;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.SerializableConfiguration;
import io.sparknmt.spark.ScalaSeqs;

/**
 * Arrow IPC token files, so that a pipeline can tokenize or score outside the JVM (pyarrow
 * reads and writes them). Input: {@code id:int64, tokens:list<int32>}, IPC file or stream
 * format. Output: {@code id:int64, tokens:list<int32>, score:float64, status:utf8}, one IPC file
 * per partition.
 */
public final class ArrowTokenFiles {
    private ArrowTokenFiles() {
    }

    private static final byte[] FILE_MAGIC = "ARROW1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Reads every token file of the input into {@link Schemas#INPUT} rows. A file that cannot be read is an error row. */
    static Dataset<Row> read(SparkSession spark, String[] files) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String joined = String.join(",", files);
        JavaRDD<Row> rows = jsc.binaryFiles(joined).flatMap(f -> readFile(f._1(), f._2()).iterator());
        return spark.createDataFrame(rows, Schemas.INPUT);
    }

    static List<Row> readFile(String name, PortableDataStream stream) {
        List<Row> out = new ArrayList<>();
        byte[] bytes = stream.toArray();
        try (BufferAllocator alloc = ArrowUtils.rootAllocator().newChildAllocator("spark-nmt-arrow-read", 0, Long.MAX_VALUE);
             ArrowReader reader = isFileFormat(bytes)
                     ? new ArrowFileReader(new SeekableReadChannel(new ByteArrayReadableSeekableByteChannel(bytes)), alloc)
                     : new ArrowStreamReader(new ByteArrayInputStream(bytes), alloc)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            FieldVector idVec = root.getVector("id");
            FieldVector tokVec = root.getVector("tokens");
            if (!(idVec instanceof BigIntVector ids) || !(tokVec instanceof ListVector tokens)
                    || !(tokens.getDataVector() instanceof IntVector)) {
                throw new IOException("expected columns id:int64 and tokens:list<int32>, found " + root.getSchema());
            }
            while (reader.loadNextBatch()) {
                IntVector data = (IntVector) tokens.getDataVector();
                for (int i = 0; i < root.getRowCount(); i++) {
                    if (ids.isNull(i)) {
                        out.add(RowFactory.create(-1L - out.size(), null, null,
                                name + " row " + i + ": id is null", name));
                        continue;
                    }
                    long id = ids.get(i);
                    if (tokens.isNull(i)) {
                        out.add(RowFactory.create(id, null, null, null, name));
                        continue;
                    }
                    int s = tokens.getElementStartIndex(i);
                    int e = tokens.getElementEndIndex(i);
                    Integer[] t = new Integer[e - s];
                    for (int j = s; j < e; j++) {
                        t[j - s] = data.get(j);
                    }
                    out.add(RowFactory.create(id, null, ScalaSeqs.wrap(t), null, name));
                }
            }
        } catch (IOException | RuntimeException e) {
            // The whole file is unreadable: one error row stands for it, so the loss is visible.
            out.clear();
            out.add(RowFactory.create(-1L - Math.abs((long) name.hashCode()), null, null,
                    Schemas.FILE_ERROR_PREFIX + name + ": " + e.getMessage(), name));
        }
        return out;
    }

    private static boolean isFileFormat(byte[] b) {
        return b.length >= FILE_MAGIC.length && Arrays.equals(Arrays.copyOf(b, FILE_MAGIC.length), FILE_MAGIC);
    }

    static final Schema OUTPUT_SCHEMA = new Schema(List.of(
            new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
            new Field("tokens", FieldType.nullable(new ArrowType.List()),
                    List.of(new Field("item", FieldType.notNullable(new ArrowType.Int(32, true)), null))),
            new Field("score", FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)), null),
            new Field("status", FieldType.notNullable(new ArrowType.Utf8()), null)));

    /**
     * Writes translated rows (with a {@code tokens} column) as one Arrow IPC file per partition:
     * written under a temporary name and renamed when complete, so readers never see half a file.
     */
    public static void write(Dataset<Row> rows, String outputDir) {
        SerializableConfiguration conf = new SerializableConfiguration(rows.sparkSession().sparkContext().hadoopConfiguration());
        rows.javaRDD().foreachPartition(it -> writePartition(it, outputDir, conf));
    }

    static void writePartition(Iterator<Row> it, String outputDir, SerializableConfiguration conf) throws IOException {
        int partition = org.apache.spark.TaskContext.getPartitionId();
        Path dir = new Path(outputDir);
        FileSystem fs = dir.getFileSystem(conf.value());
        Path tmp = new Path(dir, String.format("_tmp-part-%05d-%d.arrow", partition,
                org.apache.spark.TaskContext.get().taskAttemptId()));
        Path dst = new Path(dir, String.format("part-%05d.arrow", partition));
        try (BufferAllocator alloc = ArrowUtils.rootAllocator().newChildAllocator("spark-nmt-arrow-write", 0, Long.MAX_VALUE);
             VectorSchemaRoot root = VectorSchemaRoot.create(OUTPUT_SCHEMA, alloc);
             OutputStream os = fs.create(tmp, true);
             ArrowFileWriter writer = new ArrowFileWriter(root, null, Channels.newChannel(os))) {
            writer.start();
            BigIntVector id = (BigIntVector) root.getVector("id");
            ListVector tokens = (ListVector) root.getVector("tokens");
            Float8Vector score = (Float8Vector) root.getVector("score");
            VarCharVector status = (VarCharVector) root.getVector("status");
            int batch = 1024;
            List<Row> buf = new ArrayList<>(batch);
            while (it.hasNext()) {
                buf.add(it.next());
                if (buf.size() == batch || !it.hasNext()) {
                    root.clear();
                    root.allocateNew();
                    UnionListWriter w = tokens.getWriter();
                    for (int i = 0; i < buf.size(); i++) {
                        Row r = buf.get(i);
                        id.setSafe(i, r.getLong(r.fieldIndex(Schemas.ID)));
                        int ti = r.fieldIndex(Schemas.TOKENS);
                        w.setPosition(i);
                        if (!r.isNullAt(ti)) {
                            w.startList();
                            for (Object v : r.getList(ti)) {
                                w.writeInt((Integer) v);
                            }
                            w.endList();
                        }
                        int si = r.fieldIndex(Schemas.SCORE);
                        if (r.isNullAt(si)) {
                            score.setNull(i);
                        } else {
                            score.setSafe(i, r.getDouble(si));
                        }
                        status.setSafe(i, r.getString(r.fieldIndex(Schemas.STATUS))
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    }
                    root.setRowCount(buf.size());
                    writer.writeBatch();
                    buf.clear();
                }
            }
            writer.end();
        }
        fs.delete(dst, false);
        if (!fs.rename(tmp, dst)) {
            throw new IOException("cannot rename " + tmp + " to " + dst);
        }
    }
}
