package io.sparknmt.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Physical lines of a byte stream, with a byte cap. A line ends at LF; a CR right before the LF
 * belongs to the line end (CRLF); a CR anywhere else stays in the line. The last line needs no
 * LF; a file that ends with LF has no empty line after it. A UTF-8 byte-order mark at the very
 * start of the stream is dropped. A line longer than {@code cap} bytes is scanned to its end
 * without being kept: only its first {@code cap} bytes are, with its full length.
 */
final class LineReader implements Closeable {
    /** One physical line: {@code bytes} is the whole line, or its first cap bytes when {@code over}. */
    record Line(long number, byte[] bytes, long length, boolean over) {
    }

    private final InputStream in;
    private final int cap;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int lim;
    private boolean eof;
    private boolean started;
    private long number;
    private byte[] acc = new byte[256];

    LineReader(InputStream in, int cap) {
        this.in = in;
        this.cap = cap;
    }

    private boolean fill() throws IOException {
        if (eof) {
            return false;
        }
        int n;
        do {
            n = in.read(buf, 0, buf.length);
        } while (n == 0);
        if (n < 0) {
            eof = true;
            return false;
        }
        pos = 0;
        lim = n;
        return true;
    }

    /** The next line, or null at the end of the stream. */
    Line next() throws IOException {
        if (!started) {
            started = true;
            skipBom();
        }
        long length = 0;   // bytes of the line so far, CR of a CRLF included until the LF is seen
        int kept = 0;
        boolean any = false;
        boolean lastCr = false;
        while (true) {
            if (pos >= lim && !fill()) {
                if (!any) {
                    return null;
                }
                break; // a last line without LF
            }
            any = true;
            int start = pos;
            int lf = -1;
            for (int i = pos; i < lim; i++) {
                if (buf[i] == '\n') {
                    lf = i;
                    break;
                }
            }
            int end = lf < 0 ? lim : lf;
            int n = end - start;
            if (n > 0) {
                int room = (int) Math.min(n, Math.max(0, cap - kept));
                if (room > 0) {
                    if (kept + room > acc.length) {
                        acc = Arrays.copyOf(acc, (int) Math.min(cap, Math.max((long) acc.length * 2, kept + room)));
                    }
                    System.arraycopy(buf, start, acc, kept, room);
                    kept += room;
                }
                length += n;
                lastCr = buf[end - 1] == '\r';
            }
            if (lf >= 0) {
                pos = lf + 1;
                if (lastCr) {
                    length--; // CRLF
                    if (kept > length) {
                        kept = (int) length;
                    }
                }
                break;
            }
            pos = lim;
        }
        number++;
        boolean over = length > cap;
        return new Line(number, Arrays.copyOf(acc, (int) Math.min(kept, length)), length, over);
    }

    private void skipBom() throws IOException {
        while (lim - pos < 3) { // gather up to three bytes
            if (eof) {
                return;
            }
            byte[] rest = Arrays.copyOfRange(buf, pos, lim);
            int n = in.read(buf, rest.length, buf.length - rest.length);
            System.arraycopy(rest, 0, buf, 0, rest.length);
            pos = 0;
            if (n < 0) {
                eof = true;
                lim = rest.length;
                return;
            }
            lim = rest.length + n;
        }
        if ((buf[pos] & 0xFF) == 0xEF && (buf[pos + 1] & 0xFF) == 0xBB && (buf[pos + 2] & 0xFF) == 0xBF) {
            pos += 3;
        }
    }

    /** Lines returned so far. */
    long lineNumber() {
        return number;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
