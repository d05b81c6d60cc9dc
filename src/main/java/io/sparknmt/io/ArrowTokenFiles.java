package io.sparknmt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.SerializableConfiguration;

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

    /**
     * The token rows of one IPC file or stream, read batch by batch (one batch in memory at a
     * time). A batch that cannot be read ends the file with one error row naming the file and the
     * batch; the rows of the batches before it are kept. An IPC file whose footer is damaged is
     * read as the stream inside it.
     */
    static Iterator<CorpusReader.Rec> records(String file, Configuration conf) {
        return new TokenRecords(file, conf);
    }

    /** Rows of an Arrow input file, plus one if it cannot be read to its end (rows in). */
    static long countRows(String file, Configuration conf) {
        long n = 0;
        try (TokenRecords it = new TokenRecords(file, conf)) {
            while (it.hasNext()) {
                it.next();
                n++;
            }
        }
        return n;
    }

    static final class TokenRecords implements Iterator<CorpusReader.Rec>, AutoCloseable {
        private final String file;
        private BufferAllocator alloc;
        private ArrowReader reader;
        private BigIntVector ids;
        private ListVector tokens;
        private int batches;  // loaded so far
        private long rowsRead;
        private int row;
        private int rows;
        private CorpusReader.Rec failure;
        private boolean closed;
        private String note = "";

        TokenRecords(String file, Configuration conf) {
            this.file = file;
            try {
                Path p = new Path(file);
                FileSystem fs = p.getFileSystem(conf);
                long len = fs.getFileStatus(p).getLen();
                alloc = ArrowUtils.rootAllocator().newChildAllocator("spark-nmt-arrow-read", 0, Long.MAX_VALUE);
                FSDataInputStream in = fs.open(p);
                byte[] magic = new byte[FILE_MAGIC.length];
                boolean fileFormat = len >= magic.length && in.read(0, magic, 0, magic.length) == magic.length
                        && Arrays.equals(magic, FILE_MAGIC);
                if (fileFormat) {
                    try {
                        reader = new ArrowFileReader(new SeekableReadChannel(new FsChannel(in, len)), alloc);
                        reader.getVectorSchemaRoot(); // reads the footer and the schema
                    } catch (IOException | RuntimeException e) {
                        closeReader();
                        note = " (IPC file footer unreadable: " + e.getMessage() + "; read as a stream)";
                        FSDataInputStream again = fs.open(p);
                        again.seek(8); // magic and padding: the stream starts here
                        reader = new ArrowStreamReader(again, alloc);
                    }
                } else {
                    reader = new ArrowStreamReader(in, alloc);
                }
                VectorSchemaRoot root = reader.getVectorSchemaRoot();
                FieldVector idVec = root.getVector("id");
                FieldVector tokVec = root.getVector("tokens");
                if (!(idVec instanceof BigIntVector i) || !(tokVec instanceof ListVector t)
                        || !(t.getDataVector() instanceof IntVector)) {
                    throw new IOException("expected columns id:int64 and tokens:list<int32>, found " + root.getSchema());
                }
                ids = i;
                tokens = t;
            } catch (IOException | RuntimeException e) {
                fail(e);
            }
        }

        private void fail(Exception e) {
            failure = CorpusReader.Rec.error(CorpusReader.Rec.NONE, null, Schemas.FILE_ERROR_PREFIX + file
                    + ": record batch " + (batches + 1) + " unreadable (after " + batches + " batches, " + rowsRead
                    + " rows)" + note + ": " + e);
            close();
        }

        @Override
        public boolean hasNext() {
            while (!closed && failure == null && row >= rows) {
                try {
                    if (!reader.loadNextBatch()) {
                        close();
                        break;
                    }
                    batches++;
                    rows = reader.getVectorSchemaRoot().getRowCount();
                    row = 0;
                } catch (IOException | RuntimeException e) {
                    fail(e);
                }
            }
            return failure != null || (!closed && row < rows);
        }

        @Override
        public CorpusReader.Rec next() {
            if (!hasNext()) {
                throw new java.util.NoSuchElementException();
            }
            if (failure != null) {
                CorpusReader.Rec f = failure;
                failure = null;
                return f;
            }
            int i = row++;
            rowsRead++;
            CorpusReader.Rec r;
            if (ids.isNull(i)) {
                r = CorpusReader.Rec.error(CorpusReader.Rec.NONE, null, file + " batch " + batches + " row " + i + ": id is null");
            } else {
                r = new CorpusReader.Rec();
                r.idKind = CorpusReader.Rec.EXPLICIT;
                r.id = ids.get(i);
                if (!tokens.isNull(i)) {
                    IntVector data = (IntVector) tokens.getDataVector();
                    int s = tokens.getElementStartIndex(i);
                    int e = tokens.getElementEndIndex(i);
                    Integer[] t = new Integer[e - s];
                    for (int j = s; j < e; j++) {
                        t[j - s] = data.get(j);
                    }
                    r.tokens = t;
                }
            }
            return r;
        }

        private void closeReader() {
            if (reader != null) {
                try {
                    reader.close();
                } catch (IOException | RuntimeException e) {
                    // a damaged file: nothing more to read from it
                }
                reader = null;
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                closeReader();
                if (alloc != null) {
                    alloc.close();
                    alloc = null;
                }
            }
        }
    }

    /** A Hadoop stream as the seekable channel ArrowFileReader needs (positioned reads). */
    static final class FsChannel implements SeekableByteChannel {
        private final FSDataInputStream in;
        private final long size;
        private long pos;
        private boolean open = true;

        FsChannel(FSDataInputStream in, long size) {
            this.in = in;
            this.size = size;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (pos >= size) {
                return -1;
            }
            int want = (int) Math.min(Math.min(dst.remaining(), 1 << 20), size - pos);
            byte[] tmp = new byte[want];
            int n = in.read(pos, tmp, 0, want);
            if (n < 0) {
                return -1;
            }
            dst.put(tmp, 0, n);
            pos += n;
            return n;
        }

        @Override
        public int write(ByteBuffer src) {
            throw new UnsupportedOperationException("read-only");
        }

        @Override
        public long position() {
            return pos;
        }

        @Override
        public SeekableByteChannel position(long p) {
            pos = p;
            return this;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public SeekableByteChannel truncate(long s) {
            throw new UnsupportedOperationException("read-only");
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() throws IOException {
            open = false;
            in.close();
        }
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
