package dev.plateau.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.fleet.ChunkReceiver;
import dev.plateau.fleet.CommandSignature;
import dev.plateau.fleet.Topics;
import dev.plateau.fleet.TransferOffer;
import dev.plateau.store.StoreException;
import dev.plateau.store.TrustedKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * Many simulated devices in one JVM, each speaking the daemon's side of the fleet protocol on a
 * real broker, so that {@code plateau fleet rollout} cannot tell them from real ones:
 *
 * <ul>
 *   <li>one Paho MQTT 5 client per device, under its own client id, with the retained
 *       {@code status} as Last Will; {@code online} retained after connecting;</li>
 *   <li>{@code cmd/deploy} with the operator's Ed25519 signature checked by
 *       {@link CommandSignature#canonical} and {@link TrustedKeys} (unsigned, untrusted, forged
 *       or stale: {@code rejected}), replies {@code accepted} then {@code succeeded} on the
 *       request's response topic with its correlation data, a repeated {@code cmdId} answered
 *       with its first outcome;</li>
 *   <li>the chunks pulled by the real {@link ChunkReceiver} at the daemon's limits, written under
 *       the device's directory; the whole archive unpacked and its bundle signature checked with
 *       the fleet key;</li>
 *   <li>{@code deploy-progress}, {@code deploy-succeeded}, {@code deploy-failed} events, the
 *       retained {@code deploy} state, then {@code probation-ended} ({@code kept} or
 *       {@code rolled_back}, with {@code rollback}) and periodic {@code health} with the
 *       probation view.</li>
 * </ul>
 *
 * What each device does is drawn once, from a seeded {@link Random}, as its {@link Fate}. Models
 * are not run: probation's outcome is the fate, after {@link Settings#probation}.
 */
public final class SimulatedFleet implements AutoCloseable {
    /** What a simulated device will do with a deploy. */
    public enum Fate {
        /** Receives, installs, keeps the new version. */
        HEALTHY,
        /** Receives the whole archive, then reports {@code deploy-failed} (as a refused import would). */
        DEPLOY_FAILS,
        /** Installs, then probation rolls the version back. */
        ROLLS_BACK,
        /** Was online once and vanished: the broker holds its Last Will, {@code offline}, retained. */
        OFFLINE
    }

    /**
     * Chances per device, each 0..1, drawn in this order from one seeded {@link Random}; their sum
     * at most 1.
     */
    public record Rates(double deployFailure, double rollback, double offline) {
        public Rates {
            for (double r : new double[] {deployFailure, rollback, offline}) {
                if (!(r >= 0 && r <= 1)) {
                    throw new IllegalArgumentException("rates: expected 0..1 each, found " + r);
                }
            }
            if (deployFailure + rollback + offline > 1) {
                throw new IllegalArgumentException("rates: expected a sum of at most 1, found "
                        + (deployFailure + rollback + offline));
            }
        }

        public static final Rates NONE = new Rates(0, 0, 0);
    }

    /**
     * @param model        the model every device serves, at {@code version} now
     * @param probation    how long a device's probation of a new version lasts
     * @param healthPeriod how often each online device publishes health (the daemon's default is 30 s)
     * @param maxAge       how old a command's signature may be ({@code mqtt.command_max_age_seconds})
     */
    public record Settings(String group, String prefix, int devices, String model, int version, Rates rates, long seed,
                           Duration probation, Duration healthPeriod, Duration maxAge) {
        public Settings {
            if (devices < 1) {
                throw new IllegalArgumentException("devices: expected 1 or more, found " + devices);
            }
        }
    }

    /** The daemon's receiver limits (Deployments.LIMITS): 256 KiB/s, 8 chunks at once, asked again after 3 s. */
    static final ChunkReceiver.Limits LIMITS = new ChunkReceiver.Limits(256 * 1024, 8, Duration.ofSeconds(3));
    /** As the daemon: a progress event at each quarter of the chunks. */
    private static final int PROGRESS_STEPS = 4;
    /** Devices share a few single-thread executors; one device's work always runs on the same one. */
    private static final int EXECUTORS = 4;
    private static final long SESSION_EXPIRY_S = 3600;
    private static final int CONNECT_TIMEOUT_S = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Settings settings;
    private final String broker;
    private final Path dir;
    private final TrustedKeys operators;
    private final TrustedKeys fleetKeys;
    private final Clock clock;
    private final Map<String, Device> devices = new LinkedHashMap<>();
    private final List<ScheduledExecutorService> executors = new ArrayList<>();
    private final AtomicLong commands = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong publishFailures = new AtomicLong();
    private final Map<String, String> errors = new ConcurrentHashMap<>();

    private SimulatedFleet(Settings settings, String broker, Path dir, TrustedKeys operators, TrustedKeys fleetKeys,
                           Clock clock) {
        this.settings = settings;
        this.broker = broker;
        this.dir = dir;
        this.operators = operators;
        this.fleetKeys = fleetKeys;
        this.clock = clock;
        for (int i = 0; i < EXECUTORS; i++) {
            String name = "sim-device-" + i;
            executors.add(Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            }));
        }
    }

    /**
     * Connects every device (the {@link Fate#OFFLINE} ones connect and vanish, leaving their Last
     * Will) and returns once each has its retained status on the broker.
     *
     * @param operators keys whose signatures on commands the devices accept
     * @param fleetKeys keys whose signatures on bundles the devices accept
     */
    public static SimulatedFleet start(String broker, Path dir, Settings settings, TrustedKeys operators,
                                       TrustedKeys fleetKeys) throws InterruptedException {
        SimulatedFleet fleet = new SimulatedFleet(settings, broker, dir, operators, fleetKeys, Clock.systemUTC());
        Random random = new Random(settings.seed());
        for (int i = 1; i <= settings.devices(); i++) {
            String name = String.format("%s-%04d", settings.prefix(), i);
            Device d = fleet.new Device(name, fate(random, settings.rates()), fleet.executors.get(i % EXECUTORS));
            fleet.devices.put(name, d);
        }
        CountDownLatch up = new CountDownLatch(fleet.devices.size());
        for (Device d : fleet.devices.values()) {
            d.connect(up);
        }
        if (!up.await(CONNECT_TIMEOUT_S + settings.devices() / 10, TimeUnit.SECONDS)) {
            fleet.close();
            throw new IllegalStateException(up.getCount() + " simulated devices not connected: " + fleet.errors);
        }
        return fleet;
    }

    private static Fate fate(Random random, Rates rates) {
        double x = random.nextDouble();
        if (x < rates.deployFailure()) {
            return Fate.DEPLOY_FAILS;
        }
        if (x < rates.deployFailure() + rates.rollback()) {
            return Fate.ROLLS_BACK;
        }
        if (x < rates.deployFailure() + rates.rollback() + rates.offline()) {
            return Fate.OFFLINE;
        }
        return Fate.HEALTHY;
    }

    // ---- what the test reads -------------------------------------------------------------------

    /** Every device's name and fate, in name order. */
    public Map<String, Fate> fates() {
        Map<String, Fate> out = new LinkedHashMap<>();
        devices.forEach((name, d) -> out.put(name, d.fate));
        return out;
    }

    /** The model version active on {@code node} now. */
    public int active(String node) {
        return devices.get(node).active;
    }

    /** {@code deploy} commands {@code node} received (repeats included). */
    public int deploysReceived(String node) {
        return devices.get(node).deploys;
    }

    /** Commands received by all devices, repeats included. */
    public long commands() {
        return commands.get();
    }

    /** Commands refused for their signature (unsigned, untrusted, forged, stale). */
    public long refused() {
        return refused.get();
    }

    /** Messages the devices published (status, replies, needs, events, deploy states, health). */
    public long published() {
        return published.get();
    }

    /** Publishes the client did not take or the broker did not acknowledge. */
    public long publishFailures() {
        return publishFailures.get();
    }

    /** What went wrong inside the simulation, by device: empty in a good run. */
    public Map<String, String> errors() {
        return Map.copyOf(errors);
    }

    @Override
    public void close() {
        for (Device d : devices.values()) {
            d.close();
        }
        executors.forEach(ScheduledExecutorService::shutdownNow);
    }

    // ---- one device ----------------------------------------------------------------------------

    private final class Device {
        final String name;
        final Fate fate;
        final Topics topics;
        final ScheduledExecutorService executor;
        final Path home;
        final Map<String, ObjectNode> outcomes = new LinkedHashMap<>();
        MqttAsyncClient client;
        volatile int active;
        volatile int deploys;
        ChunkReceiver receiver;
        String receiving = "";
        Map<String, Object> probation = Map.of("state", "none", "reason", "no probation since the start");
        long session;

        Device(String name, Fate fate, ScheduledExecutorService executor) {
            this.name = name;
            this.fate = fate;
            this.topics = new Topics(settings.group(), name);
            this.executor = executor;
            this.home = dir.resolve(name);
            this.active = settings.version();
        }

        void connect(CountDownLatch up) {
            try {
                client = new MqttAsyncClient(broker, name, new MemoryPersistence());
                client.setCallback(callback());
                MqttConnectionOptions o = new MqttConnectionOptions();
                o.setCleanStart(false);
                o.setSessionExpiryInterval(SESSION_EXPIRY_S);
                o.setConnectionTimeout(CONNECT_TIMEOUT_S);
                o.setAutomaticReconnect(false);
                ObjectNode will = envelope();
                will.put("state", "offline");
                will.put("reason", "connection lost");
                o.setWill(topics.status(), new MqttMessage(bytes(will), 1, true, new MqttProperties()));
                client.connect(o, null, new MqttActionListener() {
                    @Override
                    public void onSuccess(IMqttToken token) {
                        onConnected(up);
                    }

                    @Override
                    public void onFailure(IMqttToken token, Throwable e) {
                        errors.put(name, "connect: " + e);
                    }
                });
            } catch (MqttException e) {
                errors.put(name, "connect: " + e);
            }
        }

        /** Subscribes like the daemon, then says online; an {@link Fate#OFFLINE} device then vanishes. */
        private void onConnected(CountDownLatch up) {
            try {
                client.subscribe(new MqttSubscription[] {new MqttSubscription(topics.commands(), 1),
                    new MqttSubscription(topics.chunks(), 1)}, null, listener("subscribe", () -> {
                        ObjectNode status = envelope();
                        status.put("state", "online");
                        status.put("group", settings.group());
                        status.put("node", name);
                        status.put("session", ++session);
                        publish(topics.status(), status, 1, true, null, () -> {
                            if (fate == Fate.OFFLINE) {
                                vanish(up);
                            } else {
                                long period = settings.healthPeriod().toMillis();
                                executor.scheduleAtFixedRate(this::health, period, period, TimeUnit.MILLISECONDS);
                                up.countDown();
                            }
                        });
                    }), new MqttProperties());
            } catch (MqttException e) {
                errors.put(name, "subscribe: " + e);
            }
        }

        /** Drops the connection so that the broker sends the Last Will (reason 0x04: disconnect with will). */
        private void vanish(CountDownLatch up) {
            try {
                client.disconnect(1000, null, listener("disconnect", () -> {
                    try {
                        client.close();
                    } catch (MqttException e) {
                        errors.put(name, "close: " + e);
                    }
                    up.countDown();
                }), 0x04, new MqttProperties());
            } catch (MqttException e) {
                errors.put(name, "disconnect: " + e);
            }
        }

        private MqttCallback callback() {
            return new MqttCallback() {
                @Override
                public void messageArrived(String topic, MqttMessage message) {
                    // As the daemon: nothing runs on Paho's thread.
                    MqttProperties p = message.getProperties();
                    byte[] payload = message.getPayload();
                    run(() -> arrived(topic, payload, p));
                }

                @Override
                public void disconnected(MqttDisconnectResponse response) {}

                @Override
                public void mqttErrorOccurred(MqttException exception) {
                    errors.put(name, "mqtt: " + exception);
                }

                @Override
                public void deliveryComplete(IMqttToken token) {}

                @Override
                public void connectComplete(boolean reconnect, String serverURI) {}

                @Override
                public void authPacketArrived(int reasonCode, MqttProperties properties) {}
            };
        }

        private void run(Runnable work) {
            try {
                executor.execute(() -> {
                    try {
                        work.run();
                    } catch (RuntimeException e) {
                        errors.put(name, e.toString());
                    }
                });
            } catch (RejectedExecutionException e) {
                // Closing.
            }
        }

        private void arrived(String topic, byte[] payload, MqttProperties p) {
            String rest = topic.substring(topics.root().length());
            if (rest.startsWith("cmd/")) {
                command(rest.substring("cmd/".length()), payload, p);
            } else if (rest.startsWith("xfer/") && receiver != null) {
                String id = rest.substring("xfer/".length(), rest.indexOf('/', "xfer/".length()));
                if (id.equals(receiving)) {
                    receiver.accept(Integer.parseInt(rest.substring(rest.lastIndexOf('/') + 1)), payload);
                }
            }
        }

        // ---- commands ----------------------------------------------------------------------

        private void command(String cmd, byte[] payload, MqttProperties p) {
            commands.incrementAndGet();
            JsonNode request;
            try {
                request = JSON.readTree(payload);
            } catch (IOException e) {
                errors.put(name, "malformed command");
                return;
            }
            String cmdId = request.path("cmdId").asText();
            Reply reply = new Reply(p.getResponseTopic(), p.getCorrelationData(), cmd, cmdId);
            ObjectNode first = outcomes.get(cmdId);
            if (first != null) {
                ObjectNode again = first.deepCopy();
                again.put("duplicate", true);
                reply.send(again);
                return;
            }
            Optional<String> refusal = signature(cmd, cmdId, request);
            if (refusal.isPresent()) {
                refused.incrementAndGet();
                reply.send(reply.rejected(refusal.get()));
                return;
            }
            if (!cmd.equals("deploy")) {
                reply.send(reply.rejected("unknown command '" + cmd + "' (this simulation answers deploy)"));
                return;
            }
            deploys++;
            JsonNode args = request.path("args");
            TransferOffer offer;
            try {
                offer = TransferOffer.parse(args.get("transfer"));
            } catch (IllegalArgumentException e) {
                reply.send(remember(cmdId, reply.rejected("transfer: " + e.getMessage())));
                return;
            }
            int version = args.path("version").asInt();
            if (version <= active) {
                reply.send(remember(cmdId, reply.rejected("downgrade: version " + version + " of "
                        + settings.model() + " is not above the current version " + active)));
                return;
            }
            if (receiver != null && !receiving.equals(offer.id())) {
                reply.send(reply.rejected("busy: deploy " + receiving + " is receiving"));
                return;
            }
            reply.send(reply.state("accepted"));
            ObjectNode done = reply.state("succeeded");
            ObjectNode result = done.putObject("result");
            result.put("deploy", offer.id());
            if (receiver != null) {
                result.put("state", "receiving").put("have", receiver.have()).put("of", offer.count())
                        .put("resumed", true);
            } else {
                begin(offer, cmdId, version, args.path("deadline_s").asLong(3600));
                result.put("state", "receiving").put("have", 0).put("of", offer.count());
            }
            reply.send(remember(cmdId, done));
        }

        private ObjectNode remember(String cmdId, ObjectNode outcome) {
            outcomes.put(cmdId, outcome);
            return outcome;
        }

        /** As the daemon's verifier: signed by a trusted operator key over this node, the command, its args, cmdId and ts. */
        private Optional<String> signature(String cmd, String cmdId, JsonNode request) {
            JsonNode sig = request.get("sig");
            if (sig == null || !sig.path("key_id").isTextual() || !sig.path("value").isTextual()) {
                return Optional.of("unsigned");
            }
            String keyId = sig.get("key_id").asText();
            if (!operators.keyIds().contains(keyId)) {
                return Optional.of("signed by untrusted key");
            }
            String ts = request.path("ts").asText();
            Instant at;
            try {
                at = Instant.parse(ts);
            } catch (RuntimeException e) {
                return Optional.of("ts: expected an ISO-8601 time");
            }
            byte[] value;
            try {
                value = Base64.getDecoder().decode(sig.get("value").asText());
            } catch (IllegalArgumentException e) {
                return Optional.of("sig.value: expected base64");
            }
            byte[] signed = CommandSignature.canonical(settings.group(), name, cmd, cmdId, ts, request.path("args"));
            if (!operators.verifies(keyId, signed, value)) {
                return Optional.of("signature does not verify with key " + keyId);
            }
            if (at.isBefore(clock.instant().minus(settings.maxAge()))) {
                return Optional.of("stale: signed at " + at);
            }
            return Optional.empty();
        }

        // ---- the transfer ------------------------------------------------------------------

        private void begin(TransferOffer offer, String cmdId, int version, long deadlineSeconds) {
            Path target = home.resolve("deploy").resolve(offer.id());
            try {
                Files.createDirectories(target);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ObjectNode context = JSON.createObjectNode().put("cmdId", cmdId).put("version", version);
            receiving = offer.id();
            receiver = ChunkReceiver.start(offer, context, target, clock.instant().plusSeconds(deadlineSeconds), LIMITS,
                    clock, executor, want -> publish(topics.need(offer.id()), want, 1, false),
                    new ChunkReceiver.Listener() {
                        private int reported = -1;

                        @Override
                        public void progress(int have, int of) {
                            int step = have * PROGRESS_STEPS / of;
                            if (step != reported && have < of) {
                                reported = step;
                                Map<String, Object> body = body(offer.id(), cmdId);
                                body.put("have", have);
                                body.put("of", of);
                                event("deploy-progress", body);
                                deployState("receiving", body);
                            }
                        }

                        @Override
                        public void complete(Path file) {
                            install(offer.id(), cmdId, version, file);
                        }

                        @Override
                        public void failed(String reason) {
                            Map<String, Object> body = body(offer.id(), cmdId);
                            body.put("reason", reason);
                            finished("deploy-failed", "failed", body);
                        }
                    });
        }

        /** What the store's import checks first: the archive unpacks and the fleet key signed its files. */
        private void install(String id, String cmdId, int version, Path file) {
            Map<String, Object> body = body(id, cmdId);
            Path unpacked = file.resolveSibling("bundle");
            String refusal = null;
            try {
                unzip(file, unpacked);
                fleetKeys.verify(unpacked);
            } catch (StoreException | IOException e) {
                refusal = "import refused: " + e.getMessage();
            }
            if (refusal == null && fate == Fate.DEPLOY_FAILS) {
                refusal = "import failed: simulated (fate " + fate + ")";
            }
            if (refusal != null) {
                body.put("reason", refusal);
                finished("deploy-failed", "failed", body);
                return;
            }
            int previous = active;
            active = version;
            body.put("model", settings.model());
            body.put("version", version);
            body.put("previous", previous);
            finished("deploy-succeeded", "succeeded", body);
            probation = Map.of("state", "running", "version", version, "reason", "on probation");
            executor.schedule(() -> probationEnds(version, previous), settings.probation().toMillis(),
                    TimeUnit.MILLISECONDS);
        }

        private void probationEnds(int version, int previous) {
            boolean kept = fate != Fate.ROLLS_BACK;
            String reason = kept ? "survived probation (simulated)" : "probation of version " + version
                    + ": confidence fell (simulated)";
            probation = Map.of("state", kept ? "kept" : "rolled_back", "version", version, "reason", reason);
            Map<String, Object> ended = new LinkedHashMap<>();
            ended.put("model", settings.model());
            ended.put("version", version);
            ended.put("state", kept ? "kept" : "rolled_back");
            ended.put("reason", reason);
            event("probation-ended", ended);
            if (!kept) {
                active = previous;
                Map<String, Object> rollback = new LinkedHashMap<>();
                rollback.put("model", settings.model());
                rollback.put("version", previous);
                rollback.put("from", version);
                rollback.put("reason", reason);
                event("rollback", rollback);
            }
        }

        private void finished(String event, String state, Map<String, Object> body) {
            receiver = null;
            receiving = "";
            event(event, body);
            deployState(state, body);
        }

        // ---- what the device publishes -----------------------------------------------------

        private void health() {
            if (!client.isConnected()) {
                return;
            }
            ObjectNode h = envelope();
            h.put("outbox", 0);
            ObjectNode m = h.putObject("models").putObject(settings.model());
            m.put("version", active);
            m.set("probation", JSON.valueToTree(probation));
            publish(topics.health(), h, 0, false, settings.healthPeriod().multipliedBy(2));
        }

        private void event(String type, Map<String, Object> body) {
            ObjectNode e = envelope();
            e.put("eventId", UUID.randomUUID().toString());
            e.put("type", type);
            e.setAll((ObjectNode) JSON.valueToTree(body));
            publish(topics.event(type), e, 1, false);
        }

        private void deployState(String state, Map<String, Object> body) {
            ObjectNode s = JSON.valueToTree(body);
            s.put("state", state);
            s.put("at", clock.instant().toString());
            publish(topics.deployState(), s, 1, true, null);
        }

        private Map<String, Object> body(String id, String cmdId) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("deploy", id);
            body.put("cmdId", cmdId);
            return body;
        }

        private void publish(String topic, ObjectNode payload, int qos, boolean retained) {
            publish(topic, payload, qos, retained, null);
        }

        private void publish(String topic, byte[] payload, int qos, boolean retained) {
            publish(topic, payload, qos, retained, new MqttProperties(), () -> { });
        }

        private void publish(String topic, ObjectNode payload, int qos, boolean retained, Duration expiry) {
            publish(topic, payload, qos, retained, expiry, () -> { });
        }

        private void publish(String topic, ObjectNode payload, int qos, boolean retained, Duration expiry,
                             Runnable then) {
            MqttProperties p = new MqttProperties();
            if (expiry != null) {
                p.setMessageExpiryInterval(expiry.toSeconds());
            }
            publish(topic, bytes(payload), qos, retained, p, then);
        }

        private void publish(String topic, byte[] payload, int qos, boolean retained, MqttProperties p, Runnable then) {
            try {
                client.publish(topic, new MqttMessage(payload, qos, retained, p), null, listener("publish " + topic, then));
                published.incrementAndGet();
            } catch (MqttException e) {
                publishFailures.incrementAndGet();
                errors.put(name, "publish " + topic + ": " + e);
            }
        }

        private MqttActionListener listener(String what, Runnable then) {
            return new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    run(then);
                }

                @Override
                public void onFailure(IMqttToken token, Throwable e) {
                    if (what.startsWith("publish")) {
                        publishFailures.incrementAndGet();
                    }
                    errors.put(name, what + ": " + e);
                }
            };
        }

        private ObjectNode envelope() {
            return JSON.createObjectNode().put("v", 1).put("ts", clock.instant().toString());
        }

        /** A reply to one request, as the daemon's dispatcher words it. */
        private final class Reply {
            private final String topic;
            private final byte[] correlation;
            private final String cmd;
            private final String cmdId;

            Reply(String topic, byte[] correlation, String cmd, String cmdId) {
                this.topic = topic == null ? topics.reply(cmd) : topic;
                this.correlation = correlation;
                this.cmd = cmd;
                this.cmdId = cmdId;
            }

            ObjectNode state(String state) {
                return envelope().put("cmdId", cmdId).put("cmd", cmd).put("state", state);
            }

            ObjectNode rejected(String reason) {
                return state("rejected").put("reason", reason);
            }

            void send(ObjectNode reply) {
                MqttProperties p = new MqttProperties();
                if (correlation != null) {
                    p.setCorrelationData(correlation);
                }
                publish(topic, bytes(reply), 1, false, p, () -> { });
            }
        }

        void close() {
            try {
                if (client != null && client.isConnected()) {
                    client.disconnectForcibly(0, 1000, false);
                }
                if (client != null) {
                    client.close(true);
                }
            } catch (MqttException e) {
                // Closing at the end of a test: nothing left to tell.
            }
        }
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Unpacks {@code zip} into {@code target}; an entry that would land outside it is refused. */
    private static void unzip(Path zip, Path target) throws IOException {
        Files.createDirectories(target);
        try (InputStream raw = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(raw)) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                Path to = target.resolve(e.getName()).normalize();
                if (!to.startsWith(target)) {
                    throw new IOException("entry outside the bundle: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(to);
                } else {
                    Files.createDirectories(to.getParent());
                    Files.copy(in, to);
                }
            }
        }
    }
}
