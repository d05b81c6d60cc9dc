package io.sparknmt.spark;

import io.sparknmt.io.ScalaSeqs;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparknmt.model.ModelBundle;
import io.sparknmt.model.Activation;
import io.sparknmt.model.GenerationConfig;
import io.sparknmt.model.MarianConfig;
import io.sparknmt.model.MarianWeights;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers the classes the job ships with Kryo ({@code spark.kryo.registrationRequired=true}).
 * Records go through Java serialization inside Kryo: Kryo 4 cannot set a record's final fields.
 * The tensors (float[]) dominate and use Kryo's array serializer; tied embeddings are one array
 * and are written once (reference tracking).
 */
public final class NmtKryoRegistrator implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(ModelBundle.class);
        kryo.register(MarianWeights.class);
        kryo.register(io.sparknmt.model.Shortlist.class);
        kryo.register(int[][].class);
        kryo.register(MarianConfig.class, new JavaSerializer());
        kryo.register(GenerationConfig.class, new JavaSerializer());
        kryo.register(Activation.class);
        kryo.register(TaskStats.class, new JavaSerializer());
        kryo.register(java.util.HashMap.class);
        kryo.register(float[].class);
        kryo.register(int[].class);
        kryo.register(byte[].class);
        // Rows with nested schemas (n_best) travel as task results; Spark does not register these.
        for (String name : SQL_TYPES) {
            try {
                kryo.register(Class.forName(name));
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("Spark SQL type class missing: " + name, e);
            }
        }
    }

    private static final String[] SQL_TYPES = {
        "org.apache.spark.sql.types.ArrayType", "org.apache.spark.sql.types.MapType",
        "org.apache.spark.sql.types.Metadata", "org.apache.spark.sql.types.StringType",
        "org.apache.spark.sql.types.IntegerType$", "org.apache.spark.sql.types.LongType$",
        "org.apache.spark.sql.types.DoubleType$", "org.apache.spark.sql.types.BooleanType$",
        "org.apache.spark.sql.types.StructType", "org.apache.spark.sql.types.StructField",
        "[Lorg.apache.spark.sql.types.StructField;", "org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema",
        ScalaSeqs.SEQ_CLASS, "scala.collection.immutable.Map$EmptyMap$",
    };
}
