package io.sparknmt.io;

/** Result formats the job writes. */
public enum OutputFormat {
    PARQUET,
    /** One JSON object per line, null fields kept. */
    JSONL,
    /** Tab-separated with a header row. */
    TSV,
    /** Translations only, one per line, in input (id) order, one file. */
    TEXT,
    /** Arrow IPC files: id:int64, tokens:list&lt;int32&gt;, score, status. */
    ARROW
}
