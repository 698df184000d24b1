package dev.plateau.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads YAML into {@link Node}s, keeping line and column of every value. */
final class YamlTree {
    private static final YAMLFactory FACTORY = new YAMLFactory();

    private YamlTree() {}

    /**
     * @throws ConfigException when the text is not YAML, or has duplicate keys
     */
    static Node parse(Reader reader, String source) throws IOException {
        try (JsonParser parser = FACTORY.createParser(reader)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                return new Node(Node.Kind.NULL, Map.of(), List.of(), null, false, 1, 1);
            }
            return read(parser, "");
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "?" : at.getLineNr() + ":" + at.getColumnNr();
            throw new ConfigException(source, List.of(
                    "(document): not valid YAML: " + e.getOriginalMessage() + " (" + where + ")"));
        }
    }

    private static Node read(JsonParser parser, String path) throws IOException {
        JsonLocation at = parser.currentTokenLocation();
        int line = at.getLineNr();
        int column = at.getColumnNr();
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT: {
                Map<String, Node> fields = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    JsonLocation keyAt = parser.currentTokenLocation();
                    parser.nextToken();
                    Node value = read(parser, path.isEmpty() ? key : path + "." + key);
                    if (fields.put(key, value) != null) {
                        throw new JsonProcessingException("duplicate key '" + key + "' in "
                                + (path.isEmpty() ? "(document)" : path), keyAt) {
                            private static final long serialVersionUID = 1L;
                        };
                    }
                }
                return new Node(Node.Kind.MAP, Collections.unmodifiableMap(fields), List.of(), null,
                        false, line, column);
            }
            case START_ARRAY: {
                List<Node> items = new ArrayList<>();
                int i = 0;
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(parser, path + "[" + i++ + "]"));
                }
                return new Node(Node.Kind.LIST, Map.of(), List.copyOf(items), null, false, line, column);
            }
            case VALUE_NULL:
                return new Node(Node.Kind.NULL, Map.of(), List.of(), null, false, line, column);
            default:
                // YAML scalars keep their text; whether "8" is a number is decided by the field.
                boolean quoted = token == JsonToken.VALUE_STRING;
                return new Node(Node.Kind.SCALAR, Map.of(), List.of(), parser.getText(), quoted,
                        line, column);
        }
    }
}
