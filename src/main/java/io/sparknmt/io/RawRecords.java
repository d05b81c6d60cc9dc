package io.sparknmt.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

/**
 * The raw records of one text-based input file, before any parsing: what rows in counts. Text,
 * JSONL and TSV: one record per physical line ({@link LineReader}). CSV: a record ends at a line
 * end outside double quotes (RFC 4180), so a quoted field may span lines; a record still inside
 * quotes at the end of the file, or after {@code cap} bytes, is reported as a bad record of its
 * first line alone and reading goes on at the next line, so no physical line disappears. A
 * failure to read (an I/O error, a corrupt archive) ends the file with one failure record.
 * Compressed files (any Hadoop codec, by extension) are read whole.
 */
final class RawRecords implements AutoCloseable {
    /**
     * A raw record: its first physical line (1-based), its bytes (all of them, or the first cap
     * bytes when {@code over}), its length, a structural problem, or a read failure.
     */
    record Raw(long line, byte[] bytes, long length, boolean over, String problem, String failure) {
    }

    private final String file;
    private final boolean csv;
    private final int cap;
    private LineReader lines;
    private final ArrayDeque<LineReader.Line> pushedBack = new ArrayDeque<>();
    private boolean done;

    RawRecords(String file, InputFormat format, Configuration conf, int cap) {
        this.file = file;
        this.csv = format == InputFormat.CSV;
        this.cap = cap;
        try {
            lines = new LineReader(open(file, conf), cap);
        } catch (IOException | RuntimeException e) {
            failureOnOpen = e;
        }
    }

    private Exception failureOnOpen;

    static InputStream open(String file, Configuration conf) throws IOException {
        Path p = new Path(file);
        FileSystem fs = p.getFileSystem(conf);
        CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
        InputStream raw = fs.open(p);
        try {
            return codec == null ? raw : codec.createInputStream(raw);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** The next raw record, or null after the last one. */
    Raw next() {
        if (done) {
            return null;
        }
        if (failureOnOpen != null) {
            done = true;
            return new Raw(1, null, 0, false, null, describe(failureOnOpen));
        }
        try {
            Raw r = csv ? nextCsv() : line(nextLine());
            if (r == null) {
                done = true;
            }
            return r;
        } catch (Exception e) { // Hadoop's codecs throw IOExceptions and, sometimes, runtime ones
            done = true;
            return new Raw(lines.lineNumber() + 1, null, 0, false, null, describe(e));
        }
    }

    private static String describe(Exception e) {
        return e.getClass().getName() + ": " + e.getMessage();
    }

    private LineReader.Line nextLine() throws IOException {
        return pushedBack.isEmpty() ? lines.next() : pushedBack.pollFirst();
    }

    private static Raw line(LineReader.Line l) {
        return l == null ? null : new Raw(l.number(), l.bytes(), l.length(), l.over(), null, null);
    }

    private Raw nextCsv() throws IOException {
        LineReader.Line first = nextLine();
        if (first == null) {
            return null;
        }
        if (first.over()) { // not kept whole: a record on its own, whatever quotes it holds
            return line(first);
        }
        int state = scan(first.bytes(), FIELD_START);
        if (state != QUOTED) {
            return line(first);
        }
        List<LineReader.Line> more = new ArrayList<>();
        long length = first.length();
        String problem = null;
        while (true) {
            LineReader.Line l = nextLine();
            if (l == null) {
                problem = "a quoted field opens on this line and is never closed (unbalanced quote); "
                        + "the record is this line alone, reading goes on at the next line";
                break;
            }
            more.add(l);
            length += 1 + l.length();
            if (l.over() || length > cap) {
                problem = "a quoted field opens on this line and runs past --max-input-bytes " + cap
                        + " without its closing quote; the record is this line alone, reading goes on at the next line";
                break;
            }
            state = scan(l.bytes(), state);
            if (state != QUOTED) {
                break;
            }
        }
        if (problem != null) {
            for (int i = more.size() - 1; i >= 0; i--) {
                pushedBack.addFirst(more.get(i));
            }
            return new Raw(first.number(), first.bytes(), first.length(), false, problem, null);
        }
        byte[] joined = Arrays.copyOf(first.bytes(), (int) length);
        int at = first.bytes().length;
        for (LineReader.Line l : more) {
            joined[at++] = '\n';
            System.arraycopy(l.bytes(), 0, joined, at, l.bytes().length);
            at += l.bytes().length;
        }
        return new Raw(first.number(), joined, length, false, null, null);
    }

    static final int FIELD_START = 0;
    static final int UNQUOTED = 1;
    static final int QUOTED = 2;
    static final int QUOTE_IN_QUOTED = 3;

    /** RFC 4180 quote state after {@code b}, starting in {@code state}; a line end inside quotes stays in the field. */
    static int scan(byte[] b, int state) {
        for (byte c : b) {
            switch (state) {
                case FIELD_START -> state = c == '"' ? QUOTED : c == ',' ? FIELD_START : UNQUOTED;
                case UNQUOTED -> state = c == ',' ? FIELD_START : UNQUOTED;
                case QUOTED -> state = c == '"' ? QUOTE_IN_QUOTED : QUOTED;
                default -> state = c == '"' ? QUOTED : c == ',' ? FIELD_START : UNQUOTED;
            }
        }
        return state;
    }

    String file() {
        return file;
    }

    @Override
    public void close() {
        try {
            if (lines != null) {
                lines.close();
            }
        } catch (IOException e) {
            // read to the end or failed already: nothing to lose
        }
    }
}
