package io.sparknmt.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparknmt.decode.ModelBundle;
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
        kryo.register(MarianConfig.class, new JavaSerializer());
        kryo.register(GenerationConfig.class, new JavaSerializer());
        kryo.register(Activation.class);
        kryo.register(java.util.HashMap.class);
        kryo.register(float[].class);
        kryo.register(int[].class);
        kryo.register(byte[].class);
    }
}
