package dev.plateau.fleet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;

/** Payloads on the wire: JSON objects that carry {@code "v":1} and {@code "ts"} (ISO-8601 UTC). */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static ObjectNode envelope(Clock clock) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("v", 1);
        node.put("ts", clock.instant().toString());
        return node;
    }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            // A tree of our own nodes always serialises; reaching this is a bug.
            throw new IllegalStateException("cannot serialise " + node.getNodeType(), e);
        }
    }
}
