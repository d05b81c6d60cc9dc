package io.sparknmt.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.Map;

/**
 * A vocabulary shortlist (opt-in, {@code --shortlist FILE}): for each source token, the target
 * tokens likely to appear in its translation, plus target tokens always allowed (the most
 * frequent ones and the special tokens). Per batch the decoder scores only the union of the
 * candidates of the batch's source tokens ({@link #candidates}): the output projection computes
 * those rows of lm_head only, and the searches see a narrower {@link LogitsView}. The logits of
 * the candidates equal exact mode's; the softmax runs over the candidates only, so scores and
 * sometimes the chosen tokens differ from exact mode (its quality cost is measured in
 * docs/benchmarks.md).
 *
 * <p>The file is JSON, written by {@code jobs/build-shortlist} ({@code tools/BuildShortlist}),
 * pieces as the model's vocabularies spell them:
 * <pre>{@code
 * {"format": "spark-nmt-shortlist", "version": 1, "built_from": "...",
 *  "frequent": ["▁a", ".", ...],
 *  "candidates": {"▁dog": ["▁Hund", "▁Hunde", ...], ...}}
 * }</pre>
 * A piece neither vocabulary knows is an error naming the file and the piece: a shortlist built
 * for another model is refused, not applied to the wrong ids.
 */
public final class Shortlist implements Serializable {
    public static final String FORMAT = "spark-nmt-shortlist";
    public static final int VERSION = 1;
    /** Largest shortlist file read (a hostile file fails fast instead of filling the heap). */
    static final long MAX_FILE_BYTES = 1L << 30;

    private final int targetVocab;
    /** Target ids always allowed (frequent tokens and specials), sorted, distinct. */
    private final int[] always;
    /** Per source id, its candidate target ids (sorted, distinct), or null. */
    private final int[][] bySource;
    /** SHA-256 of the file: part of the run's options key and of the translation memory's. */
    private final String digest;
    private final String file;

    Shortlist(int targetVocab, int[] always, int[][] bySource, String digest, String file) {
        this.targetVocab = targetVocab;
        this.always = always;
        this.bySource = bySource;
        this.digest = digest;
        this.file = file;
    }

    /**
     * Reads {@code file} against the model's vocabularies; {@code specials} (pad, eos, decoder start,
     * forced tokens) are always allowed whatever the file says.
     */
    public static Shortlist read(Path file, Map<String, Integer> sourceVocab, int sourceSize,
                                 Map<String, Integer> targetVocab, int targetSize, int... specials) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ModelFormatException(file + ": shortlist of " + size + " bytes is larger than the "
                        + MAX_FILE_BYTES + " bytes read");
            }
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read the shortlist: " + e.getMessage(), e);
        }
        MessageDigest md = ModelFiles.sha256();
        BitSet always = new BitSet(targetSize);
        for (int s : specials) {
            if (s >= 0 && s < targetSize) {
                always.set(s);
            }
        }
        int[][] bySource = new int[sourceSize][];
        boolean formatSeen = false;
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md);
             JsonParser p = new JsonFactory().createParser(in)) {
            expect(p, p.nextToken(), JsonToken.START_OBJECT, file, "the top level");
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                if (t != JsonToken.FIELD_NAME) {
                    throw error(file, p, "expected a field name, got " + t);
                }
                String field = p.currentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "format" -> {
                        if (v != JsonToken.VALUE_STRING || !FORMAT.equals(p.getText())) {
                            throw error(file, p, "\"format\" must be \"" + FORMAT + "\", got " + p.getText());
                        }
                        formatSeen = true;
                    }
                    case "version" -> {
                        if (v != JsonToken.VALUE_NUMBER_INT || p.getIntValue() != VERSION) {
                            throw error(file, p, "\"version\" " + p.getText() + " is not supported (this reader: "
                                    + VERSION + ")");
                        }
                    }
                    case "frequent" -> readPieces(p, v, file, "\"frequent\"", targetVocab, targetSize, always);
                    case "candidates" -> {
                        expect(p, v, JsonToken.START_OBJECT, file, "\"candidates\"");
                        BitSet list = new BitSet(targetSize);
                        for (JsonToken c = p.nextToken(); c != JsonToken.END_OBJECT; c = p.nextToken()) {
                            String piece = p.currentName();
                            Integer src = sourceVocab.get(piece);
                            if (src == null || src < 0 || src >= sourceSize) {
                                throw error(file, p, "source piece \"" + piece + "\" is not in the model's source "
                                        + "vocabulary (a shortlist built for another model?)");
                            }
                            if (bySource[src] != null) {
                                throw error(file, p, "source piece \"" + piece + "\" is listed twice");
                            }
                            list.clear();
                            readPieces(p, p.nextToken(), file, "the candidates of \"" + piece + "\"", targetVocab,
                                    targetSize, list);
                            bySource[src] = list.stream().toArray();
                        }
                    }
                    default -> p.skipChildren(); // informational fields ("built_from", ...)
                }
            }
            if (p.nextToken() != null) {
                throw error(file, p, "trailing content after the top-level object");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(file + ": not a shortlist (invalid JSON): " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read the shortlist: " + e.getMessage(), e);
        }
        if (!formatSeen) {
            throw new ModelFormatException(file + ": not a shortlist: no \"format\": \"" + FORMAT + "\" field");
        }
        return new Shortlist(targetSize, always.stream().toArray(), bySource, HexFormat.of().formatHex(md.digest()),
                file.toString());
    }

    private static void readPieces(JsonParser p, JsonToken start, Path file, String what, Map<String, Integer> vocab,
                                   int size, BitSet into) throws IOException {
        expect(p, start, JsonToken.START_ARRAY, file, what);
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_STRING) {
                throw error(file, p, what + ": expected a target piece (a string), got " + t);
            }
            Integer id = vocab.get(p.getText());
            if (id == null || id < 0 || id >= size) {
                throw error(file, p, what + ": target piece \"" + p.getText() + "\" is not in the model's target "
                        + "vocabulary (a shortlist built for another model?)");
            }
            into.set(id);
        }
    }

    private static void expect(JsonParser p, JsonToken got, JsonToken want, Path file, String what) {
        if (got != want) {
            throw error(file, p, what + ": expected " + (want == JsonToken.START_ARRAY ? "an array" : "an object")
                    + ", got " + got);
        }
    }

    private static ModelFormatException error(Path file, JsonParser p, String message) {
        return new ModelFormatException(file + " (line " + p.currentLocation().getLineNr() + "): " + message);
    }

    /**
     * The sorted target ids a batch may produce: the always-allowed ones and the candidates of
     * every source token of the batch (pad positions excluded).
     */
    public int[] candidates(TokenIds src) {
        BitSet set = new BitSet(targetVocab);
        for (int a : always) {
            set.set(a);
        }
        for (int b = 0; b < src.size(); b++) {
            for (int i = 0, n = src.length(b); i < n; i++) {
                int id = src.id(b, i);
                int[] c = id >= 0 && id < bySource.length ? bySource[id] : null;
                if (c != null) {
                    for (int t : c) {
                        set.set(t);
                    }
                }
            }
        }
        return set.stream().toArray();
    }

    /** Target vocabulary size the ids are in. */
    public int targetVocab() {
        return targetVocab;
    }

    /** Source ids that have candidates. */
    public int sources() {
        int n = 0;
        for (int[] c : bySource) {
            n += c == null ? 0 : 1;
        }
        return n;
    }

    /** Target ids always allowed. */
    public int alwaysAllowed() {
        return always.length;
    }

    /** SHA-256 (hex) of the file's bytes. */
    public String digest() {
        return digest;
    }

    /** The file it was read from (for logs). */
    public String file() {
        return file;
    }

    /**
     * The view of a logits row restricted to {@code ids} (sorted, distinct): column {@code c}
     * scores token {@code ids[c]}, so the first maximum of a row is still the lowest token id
     * among equal scores, as over the full vocabulary.
     */
    public static LogitsView view(int[] ids) {
        return new LogitsView() {
            @Override
            public int width() {
                return ids.length;
            }

            @Override
            public int tokenId(int column) {
                return ids[column];
            }

            @Override
            public int column(int tokenId) {
                int c = Arrays.binarySearch(ids, tokenId);
                return c >= 0 ? c : -1;
            }
        };
    }
}
