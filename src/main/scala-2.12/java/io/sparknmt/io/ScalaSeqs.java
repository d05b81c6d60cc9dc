package io.sparknmt.io;

/**
 * Scala 2.12 shim (src/main/scala-2.12): the Seq that Spark rows hold for array columns. Scala
 * 2.12 has no {@code scala.collection.immutable.ArraySeq}; its array wrapper is {@code WrappedArray}.
 * The Scala 2.13 twin is in src/main/scala-2.13.
 */
public final class ScalaSeqs {
    /** The class of {@link #wrap}'s result, for Kryo registration (rows travel as task results). */
    public static final String SEQ_CLASS = "scala.collection.mutable.WrappedArray$ofRef";

    private ScalaSeqs() {
    }

    /** A Scala Seq over the array, not copied. */
    public static Object wrap(Object[] values) {
        return new scala.collection.mutable.WrappedArray.ofRef<>(values);
    }
}
