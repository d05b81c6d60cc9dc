package io.sparknmt.spark;

import io.sparknmt.decode.Translation;
import io.sparknmt.io.RowStatus;

/**
 * One input row on its way through a task: what the row codec read from it, the ids the batch
 * runner translates, and what came back. Mutable, one task's.
 */
final class Item {
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
    }
}
