package dev.plateau.fleet;

import java.util.Optional;
import java.util.regex.Pattern;

/** The topic scheme {@code plateau/v1/{group}/{node}/...} (DESIGN.md §7), in one place. */
public final class Topics {
    private static final Pattern LEVEL = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private final String root;

    public Topics(String group, String node) {
        this.root = "plateau/v1/" + level("group", group) + "/" + level("node", node) + "/";
    }

    private static String level(String what, String value) {
        if (value == null || !LEVEL.matcher(value).matches()) {
            throw new IllegalArgumentException(what + ": expected [A-Za-z0-9._-], 1-64 characters, found '" + value + "'");
        }
        return value;
    }

    public String root() {
        return root;
    }

    public String status() {
        return root + "status";
    }

    /** Retained: where this node's last deploy is (receiving, succeeded, failed, cancelled). */
    public String deployState() {
        return root + "deploy";
    }

    public String health() {
        return root + "health";
    }

    public String event(String type) {
        return root + "event/" + level("event type", type);
    }

    public String result(String model) {
        return root + "result/" + level("model", model);
    }

    public String command(String name) {
        return root + "cmd/" + level("command", name);
    }

    /** Every command for this node; a single level, so {@code cmd/a/b} is not one. */
    public String commands() {
        return root + "cmd/+";
    }

    /**
     * The topics of one chunked transfer: where its chunks go ({@code base/chunk/{seq}}) and
     * where its receiver asks for them ({@code base/need}). One protocol for both directions; the
     * base says which way: {@link #toNode} (bundles to the device) or {@link #fromNode} (samples
     * from it), so neither side hears its own messages back.
     */
    public record Transfer(String id, String base) {
        public String chunk(int seq) {
            return base + "/chunk/" + seq;
        }

        /** Every chunk of this transfer. */
        public String chunks() {
            return base + "/chunk/+";
        }

        public String need() {
            return base + "/need";
        }
    }

    /** Transfer {@code id} to this node (README "Chunked transfers"): the node receives, the operator sends. */
    public Transfer toNode(String id) {
        return new Transfer(id, root + "xfer/" + level("transfer id", id));
    }

    /** Transfer {@code id} from this node: the node sends, the operator receives. */
    public Transfer fromNode(String id) {
        return new Transfer(id, root + "xfer-out/" + level("transfer id", id));
    }

    /** Where an operator asks this node for chunks of any transfer from it. */
    public String fromNodeNeeds() {
        return root + "xfer-out/+/need";
    }

    /** Chunk {@code seq} of transfer {@code id} to this node. */
    public String chunk(String id, int seq) {
        return toNode(id).chunk(seq);
    }

    /** Every chunk of every transfer to this root. */
    public String chunks() {
        return root + "xfer/+/chunk/+";
    }

    /** Where the receiver under this root asks for chunks of transfer {@code id}. */
    public String need(String id) {
        return toNode(id).need();
    }

    /** The transfer id of a topic under {@link #chunks()}, or {@link #need}. */
    static String transferId(String topic, String root) {
        String rest = topic.substring(root.length() + "xfer/".length());
        return rest.substring(0, rest.indexOf('/'));
    }

    /** Where replies go when a request names no MQTT 5 response topic. */
    public String reply(String command) {
        return root + "reply/" + level("command", command);
    }

    /** {@link #reply}, or empty when {@code command} cannot be a topic level of the scheme (no reply topic then). */
    Optional<String> replyTopic(String command) {
        return LEVEL.matcher(command).matches() ? Optional.of(reply(command)) : Optional.empty();
    }

    /** The command name of a topic under {@link #commands()}. */
    String commandName(String topic) {
        return topic.substring(topic.lastIndexOf('/') + 1);
    }
}
