package io.sparknmt.model;

/** A model file that cannot be used: the message names the file and, where known, the tensor. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
