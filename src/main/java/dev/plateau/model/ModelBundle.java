package dev.plateau.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A model bundle directory: {@code model.onnx}, {@code manifest.yaml} and an optional
 * {@code anchor/} set of original-task samples.
 */
public record ModelBundle(Path dir, Manifest manifest) {
    public static final String MODEL_FILE = "model.onnx";
    public static final String MANIFEST_FILE = "manifest.yaml";
    public static final String ANCHOR_DIR = "anchor";

    private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            // `version: 0.5` is not version 0: an integer field takes integers only.
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();

    public Path modelFile() {
        return dir.resolve(MODEL_FILE);
    }

    public Optional<Path> anchorDir() {
        Path anchor = dir.resolve(ANCHOR_DIR);
        return Files.isDirectory(anchor) ? Optional.of(anchor) : Optional.empty();
    }

    /**
     * Opens a bundle directory and reads its manifest.
     *
     * @throws BundleException naming the bundle and what is wrong or missing
     */
    public static ModelBundle open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BundleException(dir, "not a directory");
        }
        for (String required : new String[] {MODEL_FILE, MANIFEST_FILE}) {
            if (!Files.isRegularFile(dir.resolve(required))) {
                throw new BundleException(dir, "missing " + required + " (a bundle holds "
                        + MODEL_FILE + ", " + MANIFEST_FILE + " and optionally " + ANCHOR_DIR + "/)");
            }
        }
        return new ModelBundle(dir, readManifest(dir));
    }

    private static boolean isInteger(Class<?> type) {
        return type == int.class || type == Integer.class || type == long.class || type == Long.class;
    }

    static Manifest readManifest(Path dir) {
        Path file = dir.resolve(MANIFEST_FILE);
        try {
            return YAML.readValue(file.toFile(), Manifest.class);
        } catch (JsonMappingException e) {
            String where = e.getLocation() == null ? ""
                    : " (" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr() + ")";
            String path = e.getPath().stream()
                    .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                    .collect(Collectors.joining(".")).replace(".[", "[");
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String reason = root instanceof IllegalArgumentException || root instanceof NullPointerException
                    ? root.getMessage() : e.getOriginalMessage();
            if (e instanceof MismatchedInputException m && isInteger(m.getTargetType())
                    && reason.startsWith("Cannot coerce Floating-point")) {
                reason = "expected an integer, found a number with a fraction or exponent";
            }
            throw new BundleException(dir, MANIFEST_FILE + ": " + (path.isEmpty() ? "" : path + ": ")
                    + reason + where, e);
        } catch (IOException e) {
            throw new BundleException(dir, "cannot read " + MANIFEST_FILE + ": " + e.getMessage(), e);
        }
    }
}
