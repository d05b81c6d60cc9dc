package io.sparknmt.model;

/**
 * One sentence of a batch that the model cannot take as it is (no tokens, more tokens than its
 * positions, a token id outside its vocabulary): a fault of the data, so the job turns it into an
 * error row for that sentence alone. Every other exception out of the engine is a fault of the
 * program and fails the task.
 */
public class SentenceRejectedException extends IllegalArgumentException {
    public SentenceRejectedException(String message) {
        super(message);
    }
}
