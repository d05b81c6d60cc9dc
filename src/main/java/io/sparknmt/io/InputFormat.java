package io.sparknmt.io;

/** Corpus formats the job reads. */
public enum InputFormat {
    /** One sentence per line (LF or CRLF ends a line); id = 0-based line number across the sorted input files. */
    TEXT,
    /** Tab-separated with a header row, no quoting; one record per line. */
    TSV,
    /** Comma-separated with a header row, RFC 4180 quoting (a quoted field may span lines). */
    CSV,
    /** One JSON object per line. */
    JSONL,
    PARQUET,
    /** Pre-tokenized Arrow IPC files: id:int64, tokens:list&lt;int32&gt;. */
    ARROW
}
