package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A staged rollout's plan and where it stands: the bundle, its offer, the stages (canaries, then
 * batches), and per node its state, active version and reason. It is data only: the
 * {@link DeployController} moves it on and saves it with {@link #save} after every change, so a
 * controller killed at any moment continues from the file.
 *
 * <p>Node states: {@code pending} (not yet sent), {@code waiting} (offline; sent when it comes
 * back), {@code sent}, {@code receiving}, {@code installed} (active, probation running),
 * {@code kept}, and the failures {@code rejected}, {@code failed}, {@code rolled-back},
 * {@code timeout}; after a halt, or when the deadline passed before their stage, the untouched
 * ones are {@code skipped}, and with rollback on halt the installed ones {@code reverted}.
 */
public final class Rollout {
    public static final List<String> FAILURES = List.of("rejected", "failed", "rolled-back", "timeout");

    /** One node of the rollout. */
    public static final class Node {
        public final String name;
        public final int stage;
        public String state = "pending";
        public String version = "";
        public String reason = "";
        public String cmdId = "";
        public String previous = "";
        public Instant since = Instant.EPOCH;
        public Instant installedAt = Instant.EPOCH;

        Node(String name, int stage) {
            this.name = name;
            this.stage = stage;
        }

        /** This node as it is now, apart from later changes. */
        Node copy() {
            Node c = new Node(name, stage);
            c.state = state;
            c.version = version;
            c.reason = reason;
            c.cmdId = cmdId;
            c.previous = previous;
            c.since = since;
            c.installedAt = installedAt;
            return c;
        }

        public boolean terminal(boolean probation) {
            return FAILURES.contains(state) || state.equals("kept") || state.equals("skipped")
                    || state.equals("reverted") || (!probation && state.equals("installed"));
        }

        public boolean failed() {
            return FAILURES.contains(state);
        }
    }

    /**
     * The rollout's settings, fixed at its start.
     *
     * @param offlineWait how long a node of the running stage may be offline before it counts as
     *                    failed ({@code timeout}); empty: until the deadline
     */
    public record Plan(String group, Path bundle, TransferOffer offer, String model, int version, int canary,
                       int batch, int maxFailures, Duration probationWait, Optional<Duration> offlineWait,
                       Instant deadline, boolean rollbackOnHalt, boolean probation, String clientId) {}

    private final Plan plan;
    private final List<Node> nodes;
    /** The nodes by name: every message the controller reads names one. */
    private final Map<String, Node> byName = new HashMap<>();
    private final Path file;
    private String state = "running";
    private String reason = "";
    private int stage;

    private Rollout(Plan plan, List<Node> nodes, Path file) {
        this.plan = plan;
        this.nodes = nodes;
        this.file = file;
        nodes.forEach(n -> byName.putIfAbsent(n.name, n));
    }

    /** A new rollout over {@code names} in that order: {@code canary} of them first, then batches of {@code batch}. */
    public static Rollout plan(Plan plan, List<String> names, Path file) {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            int stage = i < plan.canary() ? 0 : 1 + (i - plan.canary()) / Math.max(1, plan.batch());
            nodes.add(new Node(names.get(i), plan.canary() == 0 ? stage - 1 : stage));
        }
        return new Rollout(plan, nodes, file);
    }

    public Plan settings() {
        return plan;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public Optional<Node> node(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public String state() {
        return state;
    }

    public String reason() {
        return reason;
    }

    public int stage() {
        return stage;
    }

    public int lastStage() {
        return nodes.stream().mapToInt(n -> n.stage).max().orElse(0);
    }

    void stage(int next) {
        stage = next;
    }

    void end(String state, String reason) {
        this.state = state;
        this.reason = reason;
    }

    public long failures() {
        return nodes.stream().filter(Node::failed).count();
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("v", 1);
        o.put("group", plan.group());
        o.put("bundle", plan.bundle().toString());
        o.set("offer", plan.offer().toJson());
        o.put("model", plan.model());
        o.put("version", plan.version());
        o.put("canary", plan.canary());
        o.put("batch", plan.batch());
        o.put("max_failures", plan.maxFailures());
        o.put("probation_wait_s", plan.probationWait().toSeconds());
        plan.offlineWait().ifPresent(w -> o.put("offline_wait_s", w.toSeconds()));
        o.put("deadline", plan.deadline().toString());
        o.put("rollback_on_halt", plan.rollbackOnHalt());
        o.put("probation", plan.probation());
        o.put("client_id", plan.clientId());
        o.put("state", state);
        o.put("reason", reason);
        o.put("stage", stage);
        o.put("failures", failures());
        ArrayNode list = o.putArray("nodes");
        for (Node n : nodes) {
            list.add(nodeJson(n));
        }
        return o;
    }

    public static ObjectNode nodeJson(Node n) {
        ObjectNode j = Json.MAPPER.createObjectNode();
        j.put("node", n.name);
        j.put("stage", n.stage);
        j.put("state", n.state);
        j.put("version", n.version);
        j.put("previous", n.previous);
        j.put("reason", n.reason);
        j.put("cmdId", n.cmdId);
        j.put("since", n.since.toString());
        j.put("installed_at", n.installedAt.toString());
        return j;
    }

    /** Writes the file whole or not at all: write-temp, fsync, rename, fsync the directory. */
    public void save() {
        if (file != null) {
            DurableFiles.replace(file, Json.bytes(toJson()));
        }
    }

    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** Reads a rollout {@link #save} wrote. */
    public static Rollout load(Path file) {
        JsonNode o;
        try {
            o = Json.MAPPER.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read rollout state " + file, e);
        }
        Plan plan = new Plan(o.path("group").asText(), Path.of(o.path("bundle").asText()),
                TransferOffer.parse(o.get("offer")), o.path("model").asText(), o.path("version").asInt(),
                o.path("canary").asInt(), o.path("batch").asInt(), o.path("max_failures").asInt(),
                Duration.ofSeconds(o.path("probation_wait_s").asLong()),
                o.has("offline_wait_s") ? Optional.of(Duration.ofSeconds(o.get("offline_wait_s").asLong()))
                        : Optional.empty(),
                Instant.parse(o.path("deadline").asText()),
                o.path("rollback_on_halt").asBoolean(), o.path("probation").asBoolean(true),
                o.path("client_id").asText());
        List<Node> nodes = new ArrayList<>();
        for (JsonNode j : o.path("nodes")) {
            Node n = new Node(j.path("node").asText(), j.path("stage").asInt());
            n.state = j.path("state").asText();
            n.version = j.path("version").asText();
            n.previous = j.path("previous").asText();
            n.reason = j.path("reason").asText();
            n.cmdId = j.path("cmdId").asText();
            n.since = Instant.parse(j.path("since").asText(Instant.EPOCH.toString()));
            n.installedAt = Instant.parse(j.path("installed_at").asText(Instant.EPOCH.toString()));
            nodes.add(n);
        }
        Rollout r = new Rollout(plan, nodes, file);
        r.state = o.path("state").asText("running");
        r.reason = o.path("reason").asText();
        r.stage = o.path("stage").asInt();
        return r;
    }

    /** Counts per state, in a stable order, for the summary line. */
    public Map<String, Integer> counts() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Node n : nodes) {
            out.merge(n.state, 1, Integer::sum);
        }
        return out;
    }
}
