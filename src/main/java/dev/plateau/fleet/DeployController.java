package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.SigningKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * The operator's side of {@code plateau fleet deploy} and {@code plateau fleet rollout}: moves a
 * {@link Rollout} on until it is done or halted. One MQTT 5 connection with a persistent session
 * under the rollout's own client id, so events the devices sent while a killed controller was
 * away wait at the broker for the resumed one. Everything happens on the caller's thread: the
 * client's callback only queues what arrives.
 *
 * <p>Per node: sent when its retained status says online (offline nodes wait, until the
 * deadline); deploy-progress, deploy-succeeded and deploy-failed events, the reply to the
 * command and the retained {@code deploy} topic say how the transfer goes; probation-ended and
 * rollback events, and health's probation view, say how probation ended. A stage starts when the
 * one before it has ended; the rollout halts when more than {@code max_failures} nodes failed.
 */
public final class DeployController implements AutoCloseable {
    /** How long the broker keeps the controller's session while it is away: a day covers a killed and resumed controller. */
    static final long SESSION_EXPIRY_S = 24 * 3600;
    /** A node sent the deploy that shows no sign of life for this long is sent it again (same cmdId: no second run). */
    static final Duration RESEND_AFTER = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /**
     * QoS 1 publishes in flight at once, as the devices' replies (ReplySender.WINDOW): below the
     * receive maximum brokers grant (HiveMQ's default is 10). One at a time, each waiting for its
     * PUBACK, made the round trip the pace of a rollout: 1,000 simulated devices took 107 s,
     * most of it waiting (README "Delivering models").
     */
    static final int WINDOW = 8;
    /** How long a publish may wait for its acknowledgement before it is given up (the devices ask again). */
    private static final Duration ACK_WAIT = Duration.ofSeconds(10);
    private static final Duration CONNECT_WAIT = Duration.ofSeconds(30);

    private record Arrived(String topic, byte[] payload) {}

    private record Unacknowledged(String topic, IMqttToken token) {}

    private final Rollout rollout;
    private final MqttAsyncClient client;
    /** Publishes handed to the client and not yet seen acknowledged, oldest first. */
    private final ArrayDeque<Unacknowledged> inFlight = new ArrayDeque<>();
    private final ChunkSender sender;
    private final Optional<SigningKey> key;
    private final Clock clock;
    private final Consumer<Rollout.Node> changes;
    private final BlockingQueue<Arrived> inbox = new LinkedBlockingQueue<>();
    private final Map<String, Boolean> online = new HashMap<>();
    /** Since when each node is known to be offline (its status said so, or nothing said otherwise). */
    private final Map<String, Instant> offlineSince = new HashMap<>();
    private Instant stageStarted;
    /** Nodes changed since the state file was last written, as they were at each change: told once it is written. */
    private final List<Rollout.Node> changed = new ArrayList<>();
    private final String prefix;
    private final String replyTopic;
    private final AtomicLong received = new AtomicLong();
    private long published;

    private DeployController(Rollout rollout, MqttAsyncClient client, java.nio.file.Path bundle, Optional<SigningKey> key,
                             Clock clock, Consumer<Rollout.Node> changes) {
        this.rollout = rollout;
        this.client = client;
        this.key = key;
        this.clock = clock;
        this.changes = changes;
        this.prefix = "plateau/v1/" + rollout.settings().group() + "/";
        this.replyTopic = prefix + "fleet/" + rollout.settings().clientId() + "/reply";
        this.sender = new ChunkSender(rollout.settings().offer(), bundle, this::publishChunk);
    }

    /**
     * Connects under the rollout's client id (resuming its session when the broker still has it)
     * and subscribes to what the controller follows.
     *
     * @param changes told of every node whose state changed, after the state file was written
     */
    public static DeployController connect(Rollout rollout, String broker, String username, char[] password,
                                           Optional<SigningKey> key, Clock clock, Consumer<Rollout.Node> changes) {
        try {
            MqttAsyncClient client = new MqttAsyncClient(broker, rollout.settings().clientId(), new MemoryPersistence());
            DeployController c = new DeployController(rollout, client, rollout.settings().bundle(), key, clock, changes);
            client.setCallback(c.callback());
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(false);
            options.setSessionExpiryInterval(SESSION_EXPIRY_S);
            options.setConnectionTimeout(10);
            options.setAutomaticReconnect(true);
            if (username != null) {
                options.setUserName(username);
                options.setPassword(new String(password).getBytes(StandardCharsets.UTF_8));
            }
            client.connect(options).waitForCompletion(CONNECT_WAIT.toMillis());
            String id = rollout.settings().offer().id();
            // Events and replies at QoS 1 wait at the broker for a controller away; status, the deploy
            // state and health are current anyway (retained, or periodic); needs are repeated by the devices.
            client.subscribe(new MqttSubscription[] {
                new MqttSubscription(c.prefix + "+/event/#", 1),
                new MqttSubscription(c.replyTopic, 1),
                new MqttSubscription(c.prefix + "+/status", 0),
                new MqttSubscription(c.prefix + "+/deploy", 0),
                new MqttSubscription(c.prefix + "+/health", 0),
                new MqttSubscription(c.prefix + "+/xfer/" + id + "/need", 0)}).waitForCompletion(CONNECT_WAIT.toMillis());
            return c;
        } catch (MqttException e) {
            throw new FleetException("cannot connect to " + broker + ": " + ConnectLoop.describe(e), e);
        }
    }

    private MqttCallback callback() {
        return new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage message) {
                received.incrementAndGet();
                inbox.add(new Arrived(topic, message.getPayload()));
            }

            @Override
            public void disconnected(MqttDisconnectResponse response) {}

            @Override
            public void mqttErrorOccurred(MqttException exception) {}

            @Override
            public void deliveryComplete(IMqttToken token) {}

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {}

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        };
    }

    /** Messages received and published so far (chunks and commands), for the figures. */
    public long messagesReceived() {
        return received.get();
    }

    public long messagesPublished() {
        return published;
    }

    public long chunksSent() {
        return sender.chunksSent();
    }

    /**
     * Runs the rollout until it is done, halted, or past its deadline.
     *
     * <p>Each turn: take everything that arrived, move the stage on, then write the state file
     * once for all the changes of the turn and only then tell of them. One write per turn, not
     * per change: with 1,000 nodes the file is some 300 KB, and a write per change (about seven
     * per node) cost a third of a 1,000-device rollout's time (README "Delivering models").
     * A command sent in a turn whose write a crash cut is sent again by the resumed controller
     * under the same cmdId, which the device answers with its outcome.
     *
     * @return the final state: {@code done}, {@code halted} or {@code expired}
     */
    public String run() throws InterruptedException {
        rollout.save();
        stageStarted = clock.instant();
        while (rollout.state().equals("running")) {
            Arrived a = inbox.poll(POLL.toMillis(), TimeUnit.MILLISECONDS);
            while (a != null) {
                handle(a);
                a = inbox.poll();
            }
            step();
            flush();
        }
        // What came in meanwhile is read, so that --json and the table end on the latest states.
        return rollout.state();
    }

    // ---- what arrives --------------------------------------------------------------------------

    private void handle(Arrived a) {
        if (a.topic().equals(replyTopic)) {
            reply(json(a.payload()));
            return;
        }
        String rest = a.topic().substring(prefix.length());
        int slash = rest.indexOf('/');
        if (slash < 0) {
            return;
        }
        String node = rest.substring(0, slash);
        String what = rest.substring(slash + 1);
        if (what.endsWith("/need")) {
            if (rollout.node(node).isPresent()) {
                sender.serve(new Topics(rollout.settings().group(), node).toNode(rollout.settings().offer().id()),
                        json(a.payload()));
            }
            return;
        }
        JsonNode body = json(a.payload());
        if (what.equals("status")) {
            boolean up = "online".equals(body.path("state").asText());
            online.put(node, up);
            if (up) {
                offlineSince.remove(node);
            } else {
                offlineSince.putIfAbsent(node, clock.instant());
            }
            return;
        }
        Optional<Rollout.Node> n = rollout.node(node);
        if (n.isEmpty()) {
            return;
        }
        switch (what) {
            case "deploy" -> deployState(n.get(), body);
            case "health" -> health(n.get(), body);
            default -> {
                if (what.startsWith("event/")) {
                    event(n.get(), what.substring("event/".length()), body);
                }
            }
        }
    }

    private boolean ours(JsonNode body) {
        return rollout.settings().offer().id().equals(body.path("deploy").asText());
    }

    private void reply(JsonNode reply) {
        String cmdId = reply.path("cmdId").asText();
        for (Rollout.Node n : rollout.nodes()) {
            if (!n.cmdId.equals(cmdId)) {
                continue;
            }
            String state = reply.path("state").asText();
            if (state.equals("rejected") && active(n)) {
                set(n, "rejected", reply.path("reason").asText());
            } else if (state.equals("failed") && active(n)) {
                set(n, "failed", reply.path("reason").asText());
            } else if (state.equals("succeeded") && n.state.equals("sent")) {
                JsonNode r = reply.path("result");
                set(n, "receiving", r.path("have").asInt() + "/" + r.path("of").asInt() + " chunks");
            }
        }
    }

    private void deployState(Rollout.Node n, JsonNode body) {
        if (!ours(body) || !active(n)) {
            return;
        }
        switch (body.path("state").asText()) {
            case "succeeded" -> installed(n, body);
            case "failed" -> set(n, "failed", body.path("reason").asText());
            case "cancelled" -> set(n, "failed", "cancelled on the device");
            default -> { }
        }
    }

    private void event(Rollout.Node n, String type, JsonNode body) {
        String model = rollout.settings().model();
        String target = Integer.toString(rollout.settings().version());
        switch (type) {
            case "deploy-progress" -> {
                if (ours(body) && (n.state.equals("sent") || n.state.equals("receiving"))) {
                    set(n, "receiving", body.path("have").asInt() + "/" + body.path("of").asInt() + " chunks");
                }
            }
            case "deploy-succeeded" -> {
                if (ours(body) && active(n)) {
                    installed(n, body);
                }
            }
            case "deploy-failed" -> {
                if (ours(body) && active(n)) {
                    set(n, "failed", body.path("reason").asText());
                }
            }
            case "deploy-cancelled" -> {
                if (ours(body) && active(n)) {
                    set(n, "failed", "cancelled on the device");
                }
            }
            case "probation-ended" -> {
                if (model.equals(body.path("model").asText()) && target.equals(body.path("version").asText())
                        && n.state.equals("installed")) {
                    String s = body.path("state").asText();
                    set(n, s.equals("kept") ? "kept" : "rolled-back", body.path("reason").asText());
                }
            }
            case "rollback" -> {
                if (model.equals(body.path("model").asText()) && target.equals(body.path("from").asText())
                        && n.state.equals("installed")) {
                    set(n, "rolled-back", body.path("reason").asText());
                }
            }
            default -> { }
        }
    }

    /** Health's probation view: how a resumed controller learns of a probation that ended while it was away. */
    private void health(Rollout.Node n, JsonNode body) {
        JsonNode m = body.path("models").path(rollout.settings().model());
        if (m.isMissingNode()) {
            return;
        }
        if (!n.state.equals("installed")) {
            return;
        }
        JsonNode p = m.path("probation");
        String target = Integer.toString(rollout.settings().version());
        if (!target.equals(p.path("version").asText())) {
            return;
        }
        switch (p.path("state").asText()) {
            case "kept" -> set(n, "kept", p.path("reason").asText());
            case "rolled_back" -> set(n, "rolled-back", p.path("reason").asText());
            case "none" -> set(n, "kept", "not on probation: " + p.path("reason").asText());
            default -> { }
        }
    }

    private void installed(Rollout.Node n, JsonNode body) {
        n.version = body.path("version").asText();
        n.previous = body.path("previous").asText(n.previous);
        n.installedAt = clock.instant();
        set(n, "installed", rollout.settings().probation() ? "on probation" : "active");
    }

    private static boolean active(Rollout.Node n) {
        return n.state.equals("sent") || n.state.equals("receiving") || n.state.equals("waiting");
    }

    // ---- moving on -----------------------------------------------------------------------------

    private void step() {
        Instant now = clock.instant();
        Rollout.Plan plan = rollout.settings();
        boolean probation = plan.probation();
        for (Rollout.Node n : rollout.nodes()) {
            if (n.stage != rollout.stage()) {
                continue;
            }
            boolean up = online.getOrDefault(n.name, false);
            if (n.state.equals("pending") || n.state.equals("waiting")) {
                if (up) {
                    send(n);
                } else if (n.state.equals("pending")) {
                    set(n, "waiting", "offline; sent when it comes back (until " + plan.deadline() + ")");
                }
            } else if ((n.state.equals("sent") || n.state.equals("receiving")) && up
                    && Duration.between(n.since, now).compareTo(RESEND_AFTER) > 0) {
                send(n); // same cmdId: a device that had it answers with its outcome, and it goes on
            } else if (probation && n.state.equals("installed")
                    && Duration.between(n.installedAt, now).compareTo(plan.probationWait()) > 0) {
                set(n, "timeout", "no probation decision within " + plan.probationWait().toSeconds() + " s");
            }
            if (!up && plan.offlineWait().isPresent() && beforeInstall(n)) {
                Instant since = offlineSince.computeIfAbsent(n.name, k -> now);
                Instant from = since.isAfter(stageStarted) ? since : stageStarted;
                if (Duration.between(from, now).compareTo(plan.offlineWait().get()) > 0) {
                    set(n, "timeout", "offline for more than " + plan.offlineWait().get().toSeconds()
                            + " s of its stage (--offline-wait; last: " + n.state + ")");
                }
            }
            if (!n.terminal(probation) && !now.isBefore(plan.deadline())) {
                set(n, "timeout", "not done by the deadline " + plan.deadline() + " (last: " + n.state + ")");
            }
        }
        if (rollout.failures() > plan.maxFailures()) {
            halt(now);
            return;
        }
        boolean stageDone = rollout.nodes().stream().filter(n -> n.stage == rollout.stage())
                .allMatch(n -> n.terminal(probation));
        if (stageDone) {
            if (rollout.stage() >= rollout.lastStage()) {
                rollout.end("done", rollout.failures() + " of " + rollout.nodes().size() + " failed");
            } else if (!now.isBefore(plan.deadline())) {
                expire();
            } else {
                rollout.stage(rollout.stage() + 1);
                stageStarted = now;
            }
            rollout.save();
            notifyChanged();
        }
    }

    /** The deadline passed with stages still to go: they are not started (their nodes would only time out). */
    private void expire() {
        String why = "deadline " + rollout.settings().deadline() + " passed before stage " + (rollout.stage() + 1);
        for (Rollout.Node n : rollout.nodes()) {
            if (n.state.equals("pending")) {
                set(n, "skipped", why);
            }
        }
        rollout.end("expired", why + "; " + rollout.failures() + " of " + rollout.nodes().size() + " failed");
    }

    private static boolean beforeInstall(Rollout.Node n) {
        return n.state.equals("pending") || n.state.equals("waiting") || n.state.equals("sent")
                || n.state.equals("receiving");
    }

    private void halt(Instant now) {
        String why = rollout.failures() + " node(s) failed, more than --max-failures "
                + rollout.settings().maxFailures();
        for (Rollout.Node n : rollout.nodes()) {
            if (n.state.equals("pending") || n.state.equals("waiting")) {
                set(n, "skipped", "rollout halted: " + why);
            } else if (rollout.settings().rollbackOnHalt() && (n.state.equals("kept") || n.state.equals("installed"))
                    && !n.previous.isEmpty()) {
                ObjectNode args = Json.MAPPER.createObjectNode().put("model", rollout.settings().model())
                        .put("version", Integer.parseInt(n.previous));
                command(n.name, "rollback", "rollback-" + rollout.settings().offer().id() + "-" + n.name, args);
                set(n, "reverted", "rollback to version " + n.previous + " sent: " + why);
            }
        }
        rollout.end("halted", why);
        rollout.save();
        notifyChanged();
    }

    private void send(Rollout.Node n) {
        Rollout.Plan plan = rollout.settings();
        if (n.cmdId.isEmpty()) {
            n.cmdId = "deploy-" + plan.offer().id() + "-" + n.name;
        }
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.set("transfer", plan.offer().toJson());
        if (!plan.model().isEmpty()) {
            args.put("model", plan.model());
            args.put("version", plan.version());
        }
        long left = Math.max(1, Duration.between(clock.instant(), plan.deadline()).toSeconds());
        args.put("deadline_s", Math.min(left, 7 * 24 * 3600));
        command(n.name, "deploy", n.cmdId, args);
        set(n, "sent", "deploy " + plan.offer().id() + " sent");
    }

    private void command(String node, String name, String cmdId, ObjectNode args) {
        Topics topics = new Topics(rollout.settings().group(), node);
        ObjectNode request = Json.MAPPER.createObjectNode().put("v", 1).put("cmdId", cmdId);
        request.set("args", args);
        key.ifPresent(k -> CommandSignature.sign(request, rollout.settings().group(), node, name, k, clock));
        MqttProperties properties = new MqttProperties();
        properties.setResponseTopic(replyTopic);
        properties.setCorrelationData(cmdId.getBytes(StandardCharsets.UTF_8));
        publish(topics.command(name), Json.bytes(request), properties);
    }

    private void publishChunk(String topic, byte[] payload) {
        publish(topic, payload, new MqttProperties());
    }

    /**
     * Hands a QoS 1 publish to the client without waiting for its acknowledgement, once fewer
     * than {@link #WINDOW} are in flight; a failed one is only reported: the devices ask for
     * chunks again, and sends are repeated after {@link #RESEND_AFTER}.
     */
    private void publish(String topic, byte[] payload, MqttProperties properties) {
        settle(WINDOW - 1);
        try {
            inFlight.add(new Unacknowledged(topic, client.publish(topic, new MqttMessage(payload, 1, false,
                    properties))));
            published++;
        } catch (MqttException e) {
            System.err.println("fleet: publish to " + topic + " failed: " + e.getMessage());
        }
    }

    /** Takes the acknowledged publishes off the window, then waits for the oldest until at most {@code most} remain. */
    private void settle(int most) {
        while (!inFlight.isEmpty() && (inFlight.peek().token().isComplete() || inFlight.size() > most)) {
            Unacknowledged u = inFlight.poll();
            try {
                u.token().waitForCompletion(ACK_WAIT.toMillis());
            } catch (MqttException e) {
                System.err.println("fleet: publish to " + u.topic() + " failed: " + e.getMessage());
            }
        }
    }

    private void set(Rollout.Node n, String state, String reason) {
        if (n.state.equals(state) && n.reason.equals(reason)) {
            return;
        }
        n.state = state;
        n.reason = reason;
        n.since = clock.instant();
        changed.add(n.copy());
    }

    /** Writes the state file when something changed in this turn, then tells of each change in order. */
    private void flush() {
        if (!changed.isEmpty()) {
            rollout.save();
            notifyChanged();
        }
    }

    private void notifyChanged() {
        changed.forEach(changes);
        changed.clear();
    }

    private static JsonNode json(byte[] payload) {
        try {
            return Json.MAPPER.readTree(payload);
        } catch (IOException e) {
            return Json.MAPPER.createObjectNode();
        }
    }

    /** Nodes whose retained status says online now. */
    public Set<String> online() {
        return Set.copyOf(online.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList());
    }

    /**
     * The nodes of {@code group} with a retained status on {@code broker}, found within
     * {@code listen}: what {@code --all} deploys to.
     */
    public static List<String> discover(FleetClient client, Duration listen) {
        Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        client.follow("status", listen, (node, status) -> seen.add(node));
        return seen.stream().sorted().toList();
    }

    /** Disconnects; the broker keeps the session for {@link #SESSION_EXPIRY_S}, so a resume finds the queued events. */
    @Override
    public void close() {
        sender.close();
        try {
            if (client.isConnected()) {
                settle(0);
                client.disconnect().waitForCompletion(CONNECT_WAIT.toMillis());
            }
            client.close();
        } catch (MqttException e) {
            // Closing at the end of a run: nothing left to tell.
        }
    }
}
