package io.sparknmt.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparknmt.io.RowStatus;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a run did: inputs, rows in and out, rows by status, tokens, time, per-executor
 * throughput. Printed for people ({@link #human()}) and written as JSON for schedulers
 * ({@link #json()}, schema in docs/run-report.schema.json).
 *
 * @param byStatus    status -> {rows, source tokens, target tokens} of the rows translated in this run
 * @param inputs      per input file: what happened to it
 * @param rowsSkipped rows of inputs already done by an earlier run (incremental runs)
 * @param executors   executor id -> {target tokens, translate nanos}
 * @param units       distinct units and the work they saved (dedup, translation memory)
 */
public record RunSummary(String input, String output, String modelFingerprint, String applicationId, String master,
                         long rowsIn, Map<String, long[]> byStatus, List<InputReport> inputs, long rowsSkipped,
                         Map<String, long[]> executors, long translateNanos, long wallNanos, int exitCode,
                         UnitStats units) {

    /**
     * The units of the run (a row's sources; one per row today) and what dedup and the translation
     * memory saved. Without dedup only {@code dedup = false} is known (the counts are -1).
     *
     * @param units          units with a source to translate (rows that are not empty or bad)
     * @param distinct       distinct units (by token ids)
     * @param translated     units decoded in this run
     * @param reused         distinct units found in the translation memory, not decoded
     * @param savedByDedup   decoding time not spent on repeats: per distinct unit decoded, its time x (occurrences - 1)
     * @param savedByMemory  decoding time not spent on units from the memory: their time when first decoded x occurrences
     */
    public record UnitStats(boolean dedup, String memory, long units, long distinct, long translated, long reused,
                            long savedByDedup, long savedByMemory) {
        static UnitStats none(String memory) {
            return new UnitStats(false, memory, -1, -1, -1, 0, 0, 0);
        }

        UnitStats plus(UnitStats o) {
            if (!dedup || !o.dedup) {
                return o.dedup ? o : this;
            }
            return new UnitStats(true, memory, units + o.units, distinct + o.distinct, translated + o.translated,
                    reused + o.reused, savedByDedup + o.savedByDedup, savedByMemory + o.savedByMemory);
        }
    }

    /** One input file's outcome: translated, skipped (done before) or failed (with the reason). */
    public record InputReport(String path, String outcome, long rows, String reason) {
    }

    public long rowsOut() {
        return byStatus.values().stream().mapToLong(v -> v[0]).sum();
    }

    public long rows(String status) {
        long[] v = byStatus.get(status);
        return v == null ? 0 : v[0];
    }

    public long sourceTokens() {
        return byStatus.values().stream().mapToLong(v -> v[1]).sum();
    }

    public long targetTokens() {
        return byStatus.values().stream().mapToLong(v -> v[2]).sum();
    }

    public double errorRate() {
        return rowsOut() == 0 ? 0 : (double) rows(RowStatus.ERROR.value()) / rowsOut();
    }

    public double targetTokensPerSecond() {
        return translateNanos == 0 ? 0 : targetTokens() / (translateNanos / 1e9);
    }

    RunSummary withExitCode(int code) {
        return new RunSummary(input, output, modelFingerprint, applicationId, master, rowsIn, byStatus, inputs,
                rowsSkipped, executors, translateNanos, wallNanos, code, units);
    }

    public String human() {
        StringBuilder sb = new StringBuilder();
        sb.append("spark-nmt summary\n");
        sb.append(String.format("  input        %s%n", input));
        sb.append(String.format("  output       %s%n", output));
        sb.append(String.format("  rows         in %d, out %d%s%n", rowsIn, rowsOut(), rowsIn == rowsOut() ? "" : "  MISMATCH"));
        if (rowsSkipped > 0 || inputs.stream().anyMatch(i -> !i.outcome().equals("translated"))) {
            long skipped = inputs.stream().filter(i -> i.outcome().equals("skipped")).count();
            long failed = inputs.stream().filter(i -> i.outcome().equals("failed")).count();
            sb.append(String.format("  inputs       %d files: %d translated, %d skipped (%d rows done before), %d failed%n",
                    inputs.size(), inputs.size() - skipped - failed, skipped, rowsSkipped, failed));
            for (InputReport i : inputs) {
                if (i.outcome().equals("failed")) {
                    sb.append(String.format("    failed     %s: %s%n", i.path(), i.reason()));
                }
            }
        }
        StringBuilder st = new StringBuilder();
        for (Map.Entry<String, long[]> e : new TreeMap<>(byStatus).entrySet()) {
            st.append(st.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue()[0]);
        }
        sb.append(String.format("  by status    %s%n", st.length() == 0 ? "-" : st));
        sb.append(String.format("  tokens       source %d, target %d%n", sourceTokens(), targetTokens()));
        if (units.dedup()) {
            sb.append(String.format("  units        %d, %d distinct: %d decoded, %d from the translation memory%n",
                    units.units(), units.distinct(), units.translated(), units.reused()));
            sb.append(String.format("  time saved   decoding %.1f s by dedup, %.1f s by the translation memory%n",
                    units.savedByDedup() / 1e9, units.savedByMemory() / 1e9));
        } else {
            sb.append("  units        dedup off (--no-dedup)\n");
        }
        sb.append(String.format("  throughput   %.1f target tokens/s (translation %.1f s)%n", targetTokensPerSecond(),
                translateNanos / 1e9));
        sb.append(String.format("  wall time    %.1f s (master %s, application %s)%n", wallNanos / 1e9, master, applicationId));
        sb.append(String.format("  runtime      %s", RuntimeVersions.current()));
        return sb.toString();
    }

    public String json() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode n = m.createObjectNode();
        n.put("input", input);
        n.put("output", output);
        n.put("model_fingerprint", modelFingerprint);
        n.put("application_id", applicationId);
        n.put("master", master);
        n.put("exit_code", exitCode);
        ArrayNode ins = n.putArray("inputs");
        for (InputReport i : inputs) {
            ObjectNode o = ins.addObject();
            o.put("path", i.path());
            o.put("outcome", i.outcome());
            o.put("rows", i.rows());
            o.put("reason", i.reason());
        }
        n.put("rows_in", rowsIn);
        n.put("rows_out", rowsOut());
        n.put("rows_translated", rowsOut());
        n.put("rows_skipped", rowsSkipped);
        ObjectNode s = n.putObject("rows_by_status");
        for (RowStatus k : RowStatus.values()) {
            s.put(k.value(), rows(k.value()));
        }
        n.put("source_tokens", sourceTokens());
        n.put("target_tokens", targetTokens());
        n.put("target_tokens_per_second", targetTokensPerSecond());
        ArrayNode ex = n.putArray("executors");
        executors.forEach((id, v) -> {
            ObjectNode o = ex.addObject();
            o.put("executor_id", id);
            o.put("target_tokens", v[0]);
            o.put("translate_seconds", v[1] / 1e9);
            o.put("target_tokens_per_second", v[1] == 0 ? 0.0 : v[0] / (v[1] / 1e9));
        });
        ObjectNode u = n.putObject("units");
        u.put("dedup", units.dedup());
        u.put("translation_memory", units.memory());
        if (units.dedup()) {
            u.put("units", units.units());
            u.put("distinct_units", units.distinct());
            u.put("units_translated", units.translated());
        } else {
            u.putNull("units");
            u.putNull("distinct_units");
            u.putNull("units_translated");
        }
        u.put("units_reused", units.reused());
        u.put("decode_seconds_saved_by_dedup", units.savedByDedup() / 1e9);
        u.put("decode_seconds_saved_by_memory", units.savedByMemory() / 1e9);
        n.put("translate_seconds", translateNanos / 1e9);
        n.put("wall_seconds", wallNanos / 1e9);
        RuntimeVersions rt = RuntimeVersions.current();
        n.putObject("runtime").put("spark", rt.spark()).put("scala", rt.scala()).put("java", rt.java());
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
