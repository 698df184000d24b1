package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.SigningKey;
import dev.plateau.store.TrustedKeys;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * Operator signatures on commands. The signed bytes are the UTF-8 JSON array
 * {@code ["plateau-cmd/1", group, node, name, cmdId, ts, args]} with {@code args} in canonical
 * form (object keys sorted, no whitespace, numbers as Jackson writes them), so a command cannot
 * be moved to another node, renamed, given other arguments, another cmdId or another time.
 * On the wire: {@code "ts"} (ISO-8601 instant) and
 * {@code "sig": {"key_id": ..., "alg": "Ed25519", "value": base64}} beside {@code cmdId} and
 * {@code args}.
 */
public final class CommandSignature {
    static final String DOMAIN = "plateau-cmd/1";
    static final String ALGORITHM = "Ed25519";

    private CommandSignature() {}

    /** The bytes an operator signs for {@code name} on {@code group/node}. */
    public static byte[] canonical(String group, String node, String name, String cmdId, String ts, JsonNode args) {
        ArrayNode doc = Json.MAPPER.createArrayNode();
        doc.add(DOMAIN).add(group).add(node).add(name).add(cmdId).add(ts).add(sorted(args));
        return Json.bytes(doc);
    }

    /** Adds {@code ts} (now) and {@code sig} to {@code request}, which already holds {@code cmdId} and {@code args}. */
    static void sign(ObjectNode request, String group, String node, String name, SigningKey key, Clock clock) {
        String ts = clock.instant().toString();
        request.put("ts", ts);
        byte[] signature = key.sign(canonical(group, node, name, request.path("cmdId").asText(), ts,
                request.path("args")));
        ObjectNode sig = request.putObject("sig");
        sig.put("key_id", key.keyId());
        sig.put("alg", ALGORITHM);
        sig.put("value", Base64.getEncoder().encodeToString(signature));
    }

    private static JsonNode sorted(JsonNode node) {
        if (node.isObject()) {
            List<String> names = new ArrayList<>();
            node.fieldNames().forEachRemaining(names::add);
            names.sort(null);
            ObjectNode out = Json.MAPPER.createObjectNode();
            for (String n : names) {
                out.set(n, sorted(node.get(n)));
            }
            return out;
        }
        if (node.isArray()) {
            ArrayNode out = Json.MAPPER.createArrayNode();
            node.forEach(item -> out.add(sorted(item)));
            return out;
        }
        return node;
    }

    /**
     * Checks a request's signature and age against the trusted operator keys.
     *
     * <p>Called on the link's thread for every command when {@code mqtt.command_keys} is set.
     */
    static final class Verifier {
        private final TrustedKeys keys;
        private final String group;
        private final String node;
        private final Duration maxAge;
        private final Duration futureSkew;
        private final Clock clock;

        Verifier(TrustedKeys keys, String group, String node, Duration maxAge, Duration futureSkew, Clock clock) {
            this.keys = keys;
            this.group = group;
            this.node = node;
            this.maxAge = maxAge;
            this.futureSkew = futureSkew;
            this.clock = clock;
        }

        /** The reason {@code request} must not run, or empty when it is signed by a trusted key and fresh. */
        Optional<String> refusal(String name, String cmdId, JsonNode request, JsonNode args) {
            JsonNode sig = request.get("sig");
            if (sig == null) {
                return Optional.of("unsigned: this device runs only commands signed by a trusted operator key "
                        + "(mqtt.command_keys); send with plateau fleet send --key KEY");
            }
            if (!sig.isObject() || !sig.path("key_id").isTextual() || !sig.path("value").isTextual()) {
                return Optional.of("sig: expected {\"key_id\": ..., \"alg\": \"" + ALGORITHM + "\", \"value\": base64}, "
                        + "found " + describe(sig));
            }
            if (!ALGORITHM.equals(sig.path("alg").asText())) {
                return Optional.of("sig.alg: expected " + ALGORITHM + ", found " + describe(sig.get("alg")));
            }
            String keyId = sig.get("key_id").asText();
            if (!keys.keyIds().contains(keyId)) {
                return Optional.of("signed by untrusted key " + printable(keyId) + "; trusted operator keys: "
                        + keys.keyIds().stream().sorted().toList());
            }
            JsonNode ts = request.get("ts");
            Instant at;
            try {
                at = Instant.parse(ts == null ? "" : ts.asText());
            } catch (DateTimeParseException e) {
                return Optional.of("ts: expected the ISO-8601 time of signing (e.g. 2024-05-01T12:00:00Z), found "
                        + describe(ts));
            }
            byte[] value;
            try {
                value = Base64.getDecoder().decode(sig.get("value").asText());
            } catch (IllegalArgumentException e) {
                return Optional.of("sig.value: expected base64, found " + describe(sig.get("value")));
            }
            if (!keys.verifies(keyId, canonical(group, node, name, cmdId, ts.asText(), args), value)) {
                return Optional.of("signature does not verify with key " + keyId + " over node " + node
                        + ", command, arguments, cmdId and ts");
            }
            Instant now = clock.instant();
            if (at.isBefore(now.minus(maxAge))) {
                return Optional.of("stale: signed at " + at + ", " + Duration.between(at, now).toSeconds()
                        + " s ago; commands older than " + maxAge.toSeconds()
                        + " s are refused (mqtt.command_max_age_seconds)");
            }
            if (at.isAfter(now.plus(futureSkew))) {
                return Optional.of("signed at " + at + ", " + Duration.between(now, at).toSeconds()
                        + " s ahead of this device's clock; at most " + futureSkew.toSeconds() + " s are allowed");
            }
            return Optional.empty();
        }

        private static String describe(JsonNode v) {
            return v == null ? "none" : v.getNodeType().toString().toLowerCase();
        }

        /** Key ids come from the request: shown only when they look like one. */
        private static String printable(String keyId) {
            return keyId.matches("[0-9a-f]{1,64}") ? keyId : "(not a key id)";
        }
    }
}
