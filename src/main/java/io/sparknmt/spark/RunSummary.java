package io.sparknmt.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * What a run did: rows in and out, rows by status, tokens, time. Printed for people and written
 * as JSON for schedulers.
 *
 * @param byStatus status -> {rows, source tokens, target tokens}
 */
public record RunSummary(String input, String output, String modelFingerprint, String applicationId, String master,
                         long rowsIn, Map<String, long[]> byStatus, long translateNanos, long wallNanos) {

    static RunSummary of(String input, String output, String fp, String appId, String master, long rowsIn,
                         Map<String, long[]> byStatus, long translateNanos, long wallNanos) {
        return new RunSummary(input, output, fp, appId, master, rowsIn, Map.copyOf(byStatus), translateNanos, wallNanos);
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
        return rowsOut() == 0 ? 0 : (double) rows(TranslatePartition.ERROR) / rowsOut();
    }

    public double targetTokensPerSecond() {
        return translateNanos == 0 ? 0 : targetTokens() / (translateNanos / 1e9);
    }

    public String human() {
        StringBuilder sb = new StringBuilder();
        sb.append("spark-nmt summary\n");
        sb.append(String.format("  input        %s%n", input));
        sb.append(String.format("  output       %s%n", output));
        sb.append(String.format("  rows         in %d, out %d%s%n", rowsIn, rowsOut(), rowsIn == rowsOut() ? "" : "  MISMATCH"));
        StringBuilder st = new StringBuilder();
        for (Map.Entry<String, long[]> e : new java.util.TreeMap<>(byStatus).entrySet()) {
            st.append(st.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue()[0]);
        }
        sb.append(String.format("  by status    %s%n", st));
        sb.append(String.format("  tokens       source %d, target %d%n", sourceTokens(), targetTokens()));
        sb.append(String.format("  throughput   %.1f target tokens/s (translation %.1f s)%n", targetTokensPerSecond(),
                translateNanos / 1e9));
        sb.append(String.format("  wall time    %.1f s (master %s, application %s)", wallNanos / 1e9, master, applicationId));
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
        n.put("rows_in", rowsIn);
        n.put("rows_out", rowsOut());
        ObjectNode s = n.putObject("rows_by_status");
        byStatus.forEach((k, v) -> s.put(k, v[0]));
        n.put("source_tokens", sourceTokens());
        n.put("target_tokens", targetTokens());
        n.put("target_tokens_per_second", targetTokensPerSecond());
        n.put("translate_seconds", translateNanos / 1e9);
        n.put("wall_seconds", wallNanos / 1e9);
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
