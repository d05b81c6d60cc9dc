package io.sparknmt.io;

/**
 * A request the job refuses before it reads input or loads a model: bad or contradictory options,
 * an output location it will not write to. The job's exit code 2. The job's own type, so that a
 * library's {@code IllegalArgumentException} (a {@code NumberFormatException} thrown inside Spark,
 * say) is never taken for a usage error.
 */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
