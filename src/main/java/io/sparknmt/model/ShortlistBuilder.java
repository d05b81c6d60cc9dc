package io.sparknmt.model;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Builds a {@link Shortlist} from sentence pairs (source ids, target ids) without an aligner:
 * sentence-level co-occurrence counts, each source token's candidates ranked by the Dice
 * coefficient {@code 2 c(s,t) / (c(s) + c(t))} (counts of sentences holding s, t, both), which
 * keeps a frequent target token from crowding out the words a source token translates to; plus
 * the targets most frequent overall (which the Dice ranking leaves out on purpose). The pairs are
 * a parallel corpus, or the model's own translations of a sample of the corpus to translate
 * (then the shortlist covers what the model says for that kind of text).
 */
public final class ShortlistBuilder {
    private final int sourceVocab;
    private final int targetVocab;
    private final boolean[] skipSource;
    private final boolean[] skipTarget;
    private final int[] sourceSentences;   // c(s)
    private final int[] targetSentences;   // c(t)
    private final long[] targetTokens;     // occurrences of t
    private final LongIntMap pairs = new LongIntMap(1 << 16); // (s, t) -> c(s, t)
    private long sentencePairs;

    /** {@code skipSource} / {@code skipTarget}: ids left out of the counts (specials: they are always allowed). */
    public ShortlistBuilder(int sourceVocab, int targetVocab, int[] skipSource, int[] skipTarget) {
        this.sourceVocab = sourceVocab;
        this.targetVocab = targetVocab;
        this.skipSource = new boolean[sourceVocab];
        this.skipTarget = new boolean[targetVocab];
        for (int s : skipSource) {
            if (s >= 0 && s < sourceVocab) {
                this.skipSource[s] = true;
            }
        }
        for (int t : skipTarget) {
            if (t >= 0 && t < targetVocab) {
                this.skipTarget[t] = true;
            }
        }
        this.sourceSentences = new int[sourceVocab];
        this.targetSentences = new int[targetVocab];
        this.targetTokens = new long[targetVocab];
    }

    /** Counts one sentence pair. */
    public void add(int[] source, int[] target) {
        int[] s = distinct(source, sourceVocab, skipSource);
        int[] t = distinct(target, targetVocab, skipTarget);
        for (int id : target) {
            if (id >= 0 && id < targetVocab && !skipTarget[id]) {
                targetTokens[id]++;
            }
        }
        for (int a : s) {
            sourceSentences[a]++;
        }
        for (int b : t) {
            targetSentences[b]++;
        }
        for (int a : s) {
            for (int b : t) {
                pairs.increment(((long) a << 32) | b);
            }
        }
        sentencePairs++;
    }

    public long sentencePairs() {
        return sentencePairs;
    }

    private static int[] distinct(int[] ids, int vocab, boolean[] skip) {
        int[] out = ids.clone();
        int n = 0;
        for (int id : ids) {
            if (id >= 0 && id < vocab && !skip[id]) {
                out[n++] = id;
            }
        }
        out = Arrays.copyOf(out, n);
        Arrays.sort(out);
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (i == 0 || out[i] != out[i - 1]) {
                out[m++] = out[i];
            }
        }
        return Arrays.copyOf(out, m);
    }

    /** The {@code frequent} most frequent target ids (by occurrences; ties: lower id first). */
    public int[] frequent(int frequent) {
        Integer[] ids = new Integer[targetVocab];
        for (int i = 0; i < targetVocab; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> targetTokens[a] != targetTokens[b] ? Long.compare(targetTokens[b], targetTokens[a])
                : Integer.compare(a, b));
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ids.length && out.size() < frequent && targetTokens[ids[i]] > 0; i++) {
            out.add(ids[i]);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Per source id, its best {@code perSource} target ids by Dice (ties: more co-occurrences,
     * then lower id), those seen with it at least {@code minCount} times; null for unseen sources.
     */
    public int[][] candidates(int perSource, int minCount) {
        // gather each source's (t, c(s,t)) from the pair map
        int[] counts = new int[sourceVocab];
        pairs.forEach((key, c) -> {
            if (c >= minCount) {
                counts[(int) (key >>> 32)]++;
            }
        });
        long[][] bySource = new long[sourceVocab][];
        for (int s = 0; s < sourceVocab; s++) {
            if (counts[s] > 0) {
                bySource[s] = new long[counts[s]];
            }
        }
        int[] fill = new int[sourceVocab];
        pairs.forEach((key, c) -> {
            if (c >= minCount) {
                int s = (int) (key >>> 32);
                bySource[s][fill[s]++] = ((long) c << 32) | (key & 0xffffffffL);
            }
        });
        int[][] out = new int[sourceVocab][];
        for (int s = 0; s < sourceVocab; s++) {
            long[] list = bySource[s];
            if (list == null) {
                continue;
            }
            int cs = sourceSentences[s];
            Long[] boxed = Arrays.stream(list).boxed().toArray(Long[]::new);
            Arrays.sort(boxed, (x, y) -> {
                int tx = (int) (x & 0xffffffffL);
                int ty = (int) (y & 0xffffffffL);
                long cx = x >>> 32;
                long cy = y >>> 32;
                // Dice, compared exactly: cx / (cs + ct_x) vs cy / (cs + ct_y)
                // (negative when x ranks first: the larger Dice)
                int d = Long.compare(cy * (cs + (long) targetSentences[tx]), cx * (cs + (long) targetSentences[ty]));
                if (d != 0) {
                    return d;
                }
                return cx != cy ? Long.compare(cy, cx) : Integer.compare(tx, ty);
            });
            int n = Math.min(perSource, boxed.length);
            out[s] = new int[n];
            for (int i = 0; i < n; i++) {
                out[s][i] = (int) (boxed[i] & 0xffffffffL);
            }
        }
        return out;
    }

    /**
     * Writes the shortlist file ({@link Shortlist}'s format), pieces named by {@code sourcePiece}
     * and {@code targetPiece}; sources in id order, each one's candidates best first.
     */
    public static void write(OutputStream out, String builtFrom, int[] frequent, int[][] candidates,
                             IntFunction<String> sourcePiece, IntFunction<String> targetPiece) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("format", Shortlist.FORMAT);
            g.writeNumberField("version", Shortlist.VERSION);
            g.writeStringField("built_from", builtFrom);
            g.writeRaw('\n');
            g.writeArrayFieldStart("frequent");
            for (int t : frequent) {
                g.writeString(targetPiece.apply(t));
            }
            g.writeEndArray();
            g.writeRaw('\n');
            g.writeObjectFieldStart("candidates");
            for (int s = 0; s < candidates.length; s++) {
                String piece = candidates[s] == null ? null : sourcePiece.apply(s);
                if (piece == null) {
                    continue;
                }
                g.writeRaw('\n');
                g.writeArrayFieldStart(piece);
                for (int t : candidates[s]) {
                    g.writeString(targetPiece.apply(t));
                }
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    /** Open addressing long -> int counts (the pair table: millions of entries, no boxing). */
    static final class LongIntMap {
        private static final long EMPTY = -1L;
        private long[] keys;
        private int[] values;
        private int size;

        LongIntMap(int capacity) {
            keys = new long[capacity];
            values = new int[capacity];
            Arrays.fill(keys, EMPTY);
        }

        void increment(long key) {
            if (2 * (size + 1) > keys.length) {
                grow();
            }
            int mask = keys.length - 1;
            int i = (int) mix(key) & mask;
            while (keys[i] != EMPTY && keys[i] != key) {
                i = (i + 1) & mask;
            }
            if (keys[i] == EMPTY) {
                keys[i] = key;
                size++;
            }
            values[i]++;
        }

        int get(long key) {
            int mask = keys.length - 1;
            for (int i = (int) mix(key) & mask; keys[i] != EMPTY; i = (i + 1) & mask) {
                if (keys[i] == key) {
                    return values[i];
                }
            }
            return 0;
        }

        int size() {
            return size;
        }

        interface Visitor {
            void visit(long key, int value);
        }

        void forEach(Visitor v) {
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != EMPTY) {
                    v.visit(keys[i], values[i]);
                }
            }
        }

        private void grow() {
            long[] oldKeys = keys;
            int[] oldValues = values;
            keys = new long[oldKeys.length * 2];
            values = new int[oldKeys.length * 2];
            Arrays.fill(keys, EMPTY);
            int mask = keys.length - 1;
            for (int j = 0; j < oldKeys.length; j++) {
                if (oldKeys[j] != EMPTY) {
                    int i = (int) mix(oldKeys[j]) & mask;
                    while (keys[i] != EMPTY) {
                        i = (i + 1) & mask;
                    }
                    keys[i] = oldKeys[j];
                    values[i] = oldValues[j];
                }
            }
        }

        private static long mix(long k) {
            k ^= k >>> 33;
            k *= 0xff51afd7ed558ccdL;
            k ^= k >>> 33;
            return k;
        }
    }
}
