package io.sparknmt.spark;

import io.sparknmt.decode.Translation;
import io.sparknmt.io.RowStatus;
import io.sparknmt.text.Document;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * One input row on its way through a task: what the row codec read from it, the ids the batch
 * runner translates, and what came back. Mutable, one task's.
 */
final class Item {
    /** The row's record number (the internal row key, {@link io.sparknmt.io.Schemas#RECORD}). */
    final long id;
    final String source;
    final String file;
    /** Source ids with {@code </s>}, at most --max-input-tokens; null when the row is not translated. */
    int[] ids;
    /** Source tokens before any cut. */
    int srcTokens;
    /** Null until known; {@link RowCodec#write} settles it. */
    RowStatus status;
    String message;
    Translation translation;
    /** The input row, whose id and kept columns go to the output row as they are; null for a sentence part. */
    Row input;
    /** With --split-sentences: the row's text split into sentences, null otherwise (and for rows not translated). */
    Document document;
    /** With --split-sentences: one entry per sentence of {@link #document}, the parts it is translated in. */
    List<Sentence> sentences;

    /**
     * One sentence of a document: translated whole (one part), cut into parts when longer than
     * --max-input-tokens, or not at all when it has only invisible characters (no parts).
     *
     * @param source    the sentence
     * @param srcTokens its source tokens, whole
     * @param parts     the items the batch runner translates (each with its ids)
     * @param joiners   what goes between part i and part i + 1 in the translation
     * @param how       why and how it was cut, or null when it is one part
     */
    record Sentence(String source, int srcTokens, List<Item> parts, List<String> joiners, String how) {
    }

    /** Items the batch runner translates for this row: its sentences' parts, or the row itself. */
    void units(List<Item> into) {
        if (sentences != null) {
            for (Sentence s : sentences) {
                for (Item p : s.parts()) {
                    if (p.ids != null) {
                        into.add(p);
                    }
                }
            }
        } else if (ids != null) {
            into.add(this);
        }
    }
    /** This item's share of the decoding time of the batch that translated it (the run summary's time saved). */
    long decodeNanos;

    Item(long id, String source, String file) {
        this.id = id;
        this.source = source;
        this.file = file;
    }

    /** This row will not be translated: {@code status} says why. */
    void fail(RowStatus status, String message) {
        this.status = status;
        this.message = message;
        this.ids = null;
        this.document = null;
        this.sentences = null;
    }
}
