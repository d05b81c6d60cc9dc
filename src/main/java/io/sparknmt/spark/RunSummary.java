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
 */
public record RunSummary(String input, String output, String modelFingerprint, String applicationId, String master,
                         long rowsIn, Map<String, long[]> byStatus, List<InputReport> inputs, long rowsSkipped,
                         Map<String, long[]> executors, long translateNanos, long wallNanos, int exitCode) {

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
                rowsSkipped, executors, translateNanos, wallNanos, code);
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
