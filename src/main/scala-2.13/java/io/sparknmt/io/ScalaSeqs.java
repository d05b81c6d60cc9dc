package io.sparknmt.io;

/**
 * Scala 2.13 shim (src/main/scala-2.13): the Seq that Spark rows hold for array columns. The
 * Scala 2.12 twin (src/main/scala-2.12) uses {@code WrappedArray}, as 2.12 has no {@code ArraySeq}.
 */
public final class ScalaSeqs {
    /** The class of {@link #wrap}'s result, for Kryo registration (rows travel as task results). */
    public static final String SEQ_CLASS = "scala.collection.immutable.ArraySeq$ofRef";

    private ScalaSeqs() {
    }

    /** A Scala Seq over the array, not copied. */
    public static Object wrap(Object[] values) {
        return scala.collection.immutable.ArraySeq.unsafeWrapArray(values);
    }
}
