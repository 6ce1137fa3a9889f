package skewless.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.json.JsonReadFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * A model version's meta.json in the registry (models/registry.py), as the JVM reads it.
 *
 * <p>Python's json writes a metric it could not compute (no fraud in a small test split) as NaN,
 * which strict JSON refuses; refusing it here switched drift off for that model, silently.
 */
final class ModelMetaFile {
    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private ModelMetaFile() {}

    static JsonNode read(String registry, String version) throws IOException {
        return JSON.readTree(Files.readAllBytes(Paths.get(registry, version, "meta.json")));
    }
}
