package dev.plateau.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import dev.plateau.config.MqttConfig;
import dev.plateau.store.DiskStatus;
import dev.plateau.store.FailureLog;
import dev.plateau.store.TrustedKeys;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.tinylog.Logger;

/**
 * The device's fleet link (DESIGN.md §7): retained {@code status} with a Last Will, periodic
 * {@code health}, {@code event/*} from the durable {@link Outbox}, and {@code cmd/*} with replies.
 * {@link #start} returns at once; the link connects in the background, retries a failed first
 * connect with backoff, and reconnects by itself after that. The device works without a broker;
 * events wait on disk.
 *
 * <p>Two threads of ours: {@code plateau-fleet} for everything the link does, and
 * {@code plateau-fleet-cmd} for command work. Close from neither.
 */
public final class Fleet implements AutoCloseable {
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    /**
     * How long a stop waits for the broker to acknowledge {@code offline}: one that answers does
     * so in well under a second, even over a cellular link; one that does not must not hold up
     * systemd's stop (TimeoutStopSec=40s, and the daemon's own 25 s halt).
     */
    static final Duration OFFLINE_WAIT = Duration.ofSeconds(2);
    private static final Duration PUMP_PERIOD = Duration.ofSeconds(10);
    /** A reply the broker refused is tried again after 0.1 s, doubling up to 5 s (ReplySender gives up after a few). */
    private static final Duration REPLY_RETRY_MIN = Duration.ofMillis(100);
    private static final Duration REPLY_RETRY_MAX = Duration.ofSeconds(5);

    private final FleetSettings settings;
    private final Topics topics;
    private final ScheduledExecutorService linkExecutor;
    private final ThreadPoolExecutor commandExecutor;
    private final CommandLog commandLog;
    private final PahoLink link;
    private final Outbox outbox;
    private final OutboxPump pump;
    private final UnansweredRefusals unanswered;
    private final Supplier<Map<String, ?>> health;
    private final DiskStatus disk;
    private final Instant started;
    private final Path sessionFile;
    private final AtomicLong session = new AtomicLong();
    private final AtomicLong resultsDropped = new AtomicLong();
    private volatile Duration healthPeriod;
    private ScheduledFuture<?> healthTask;
    private boolean closed;

    private Fleet(FleetSettings settings, Supplier<Map<String, ?>> health, Map<String, CommandHandler> handlers,
                  DiskStatus disk) {
        this.settings = settings;
        this.topics = new Topics(settings.group(), settings.node());
        this.health = health;
        this.disk = disk;
        this.started = settings.clock().instant();
        this.healthPeriod = settings.healthPeriod();
        this.outbox = Outbox.open(settings.stateDir(), settings.outboxCapacity(), settings.clock(), disk);
        this.sessionFile = settings.stateDir().resolve("fleet-session");
        this.session.set(readSession(sessionFile));
        this.linkExecutor = Executors.newSingleThreadScheduledExecutor(named("plateau-fleet"));
        MqttConfig.Commands limits = settings.mqtt().commands();
        this.commandExecutor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(limits.queue()), named("plateau-fleet-cmd"));
        this.commandLog = CommandLog.open(settings.stateDir(), Duration.ofSeconds(limits.windowSeconds()),
                limits.capacity(), settings.clock());
        this.link = new PahoLink(settings.pahoUri(), settings.mqtt().clientId(), options(),
                linkExecutor, new Backoff(settings.backoffMin(), settings.backoffMax(), settings.random()));
        this.pump = new OutboxPump(outbox, link, topics, settings.clock());
        ReplySender replies = new ReplySender(link, linkExecutor,
                new Backoff(REPLY_RETRY_MIN, REPLY_RETRY_MAX, settings.random()), settings.clock());
        Map<String, CommandHandler> all = new HashMap<>(handlers);
        all.putIfAbsent("ping", new PingCommand(settings.clock()));
        this.unanswered = new UnansweredRefusals(body -> event(UnansweredRefusals.EVENT, Outbox.Kind.HEALTH, body),
                settings.clock());
        CommandDispatcher commands = new CommandDispatcher(topics, settings.clock(), all, commandExecutor,
                linkExecutor, commandLog, verifier(settings), limits, replies, unanswered);
        link.onConnected(this::online);
        link.onConnected(pump::pump);
        link.onConnected(replies::drain);
        link.subscribe(topics.commands(), 1, commands::handle);
    }

    private static Optional<CommandSignature.Verifier> verifier(FleetSettings settings) {
        MqttConfig.Commands limits = settings.mqtt().commands();
        return limits.keys().map(dir -> {
            TrustedKeys keys = TrustedKeys.load(dir);
            if (keys.keyIds().isEmpty()) {
                Logger.warn("fleet: mqtt.command_keys {} holds no *.pub key: every command will be refused", dir);
            } else {
                Logger.info("fleet: commands must be signed by one of {} (from {})", keys.keyIds(), dir);
            }
            return new CommandSignature.Verifier(keys, settings.group(), settings.node(),
                    Duration.ofSeconds(limits.maxAgeSeconds()),
                    Duration.ofSeconds(MqttConfig.Commands.FUTURE_SKEW_SECONDS), settings.clock());
        });
    }

    /**
     * Opens the outbox and starts connecting.
     *
     * @param health   per-model statistics for each health report (called on the link's thread)
     * @param handlers command name to handler; {@code ping} is built in unless given here
     */
    public static Fleet start(FleetSettings settings, Supplier<Map<String, ?>> health,
                              Map<String, CommandHandler> handlers) {
        return start(settings, health, handlers, new DiskStatus(settings.clock(),
                new FailureLog(settings.clock(), FailureLog.INTERVAL)));
    }

    /**
     * As {@link #start(FleetSettings, Supplier, Map)}; {@code disk} hears of a full disk under the
     * outbox, and health reports say what it knows of every writer.
     */
    public static Fleet start(FleetSettings settings, Supplier<Map<String, ?>> health,
                              Map<String, CommandHandler> handlers, DiskStatus disk) {
        Fleet fleet = new Fleet(settings, health, handlers, disk);
        fleet.linkExecutor.execute(fleet::scheduleHealth);
        fleet.linkExecutor.scheduleAtFixedRate(fleet::retryAndPump, PUMP_PERIOD.toMillis(), PUMP_PERIOD.toMillis(),
                TimeUnit.MILLISECONDS);
        long refusals = UnansweredRefusals.PERIOD.toMillis();
        fleet.linkExecutor.scheduleAtFixedRate(fleet::flushRefusals, refusals, refusals, TimeUnit.MILLISECONDS);
        fleet.link.start();
        Logger.info("fleet: {} as {} under {}; {} event(s) queued", settings.pahoUri(), settings.mqtt().clientId(),
                fleet.topics.root(), fleet.outbox.size());
        return fleet;
    }

    private MqttConnectionOptions options() {
        MqttConnectionOptions o = ConnectOptions.of(Optional.of(settings.mqtt()));
        o.setCleanStart(false);
        o.setSessionExpiryInterval(settings.mqtt().sessionExpirySeconds());
        o.setKeepAliveInterval(settings.mqtt().keepAliveSeconds());
        ObjectNode will = Json.envelope(settings.clock());
        will.put("state", "offline");
        will.put("reason", "connection lost");
        MqttMessage message = new MqttMessage(Json.bytes(will), 1, true, new MqttProperties());
        o.setWill(topics.status(), message);
        return o;
    }

    /**
     * Stores an event for {@code event/{type}} durably and returns; it is sent when connected.
     *
     * @param body fields beside {@code v}, {@code ts}, {@code eventId} and {@code type}
     */
    public Outbox.Added event(String type, Outbox.Kind kind, Map<String, ?> body) {
        Outbox.Added added = outbox.add(type, kind, body);
        linkExecutor.execute(pump::pump);
        return added;
    }

    /**
     * As {@link #event(String, Outbox.Kind, Map)} with the caller's {@code eventId}, for an event
     * it may hand over again after a crash (see {@link Outbox#add(String, Outbox.Kind, Map, String)}).
     */
    public Outbox.Added event(String type, Outbox.Kind kind, Map<String, ?> body, String eventId) {
        Outbox.Added added = outbox.add(type, kind, body, eventId);
        linkExecutor.execute(pump::pump);
        return added;
    }

    /**
     * Publishes one inference result on {@code result/{model}}: QoS 0 and never queued, a result
     * is only worth something now. Without a connection, or when the client's window is full, it
     * is counted in health as {@code results_dropped}.
     */
    public void result(String model, Map<String, ?> body) {
        if (!link.isConnected()) {
            resultsDropped.incrementAndGet();
            return;
        }
        ObjectNode node = Json.envelope(settings.clock());
        node.put("model", model);
        node.setAll(Json.MAPPER.<ObjectNode>valueToTree(body));
        link.publish(topics.result(model), Json.bytes(node), 0, false, null).whenComplete((ok, failure) -> {
            if (failure != null) {
                resultsDropped.incrementAndGet();
            }
        });
    }

    /** Writes what a full disk held in memory, once there is room, then sends what waits; never throws. */
    private void retryAndPump() {
        try {
            outbox.retryWrites();
        } catch (RuntimeException e) {
            Logger.error(e, "fleet: writing held events to the outbox failed");
        }
        pump.pump();
    }

    private void flushRefusals() {
        try {
            unanswered.flush();
        } catch (RuntimeException e) {
            // A failed summary must not cancel the schedule (an outbox on a full disk, say).
            Logger.error(e, "fleet: summary of unanswered command refusals failed");
        }
    }

    /**
     * Subscribes to {@code filter} at QoS 1, now and after every reconnect. The handler runs on
     * the link's thread: it must hand any real work to a thread of its own.
     */
    public void subscribe(String filter, FleetLink.MessageHandler handler) {
        link.subscribe(filter, 1, handler);
    }

    /** Publishes a JSON payload at QoS 1 now, or fails the future at once when not connected. */
    public java.util.concurrent.CompletableFuture<Void> publish(String topic, byte[] payload) {
        return link.publish(topic, payload, 1, false, null);
    }

    /** Publishes a JSON payload at QoS 1, retained: the state a controller reads when it (re)connects. */
    public java.util.concurrent.CompletableFuture<Void> publishRetained(String topic, byte[] payload) {
        return link.publish(topic, payload, 1, true, null);
    }

    /** Runs {@code action} on the link's thread after every (re)connect. */
    public void onConnected(Runnable action) {
        link.onConnected(action);
    }

    public boolean connected() {
        return link.isConnected();
    }

    /** Events in the durable outbox not yet acknowledged by the broker. */
    public int outboxDepth() {
        return outbox.size();
    }

    public Topics topics() {
        return topics;
    }

    Outbox outbox() {
        return outbox;
    }

    private void online() {
        long n = session.incrementAndGet();
        writeSession(n);
        ObjectNode status = status("online");
        status.put("session", n);
        link.publish(topics.status(), Json.bytes(status), 1, true, null).whenComplete((ok, failure) -> {
            if (failure != null) {
                Logger.warn("fleet: status online not sent: {}", failure.getMessage());
            }
        });
    }

    private ObjectNode status(String state) {
        ObjectNode node = Json.envelope(settings.clock());
        node.put("state", state);
        node.put("group", settings.group());
        node.put("node", settings.node());
        return node;
    }

    /** Reports health every {@code period} from now on; the first report follows one period after this. */
    public void healthPeriod(Duration period) {
        healthPeriod = period;
        linkExecutor.execute(this::scheduleHealth);
    }

    // On the link's thread, so a reschedule never races another.
    private void scheduleHealth() {
        if (healthTask != null) {
            healthTask.cancel(false);
        }
        long period = healthPeriod.toMillis();
        healthTask = linkExecutor.scheduleAtFixedRate(this::publishHealth, period, period, TimeUnit.MILLISECONDS);
    }

    private void publishHealth() {
        if (!link.isConnected()) {
            return;
        }
        try {
            ObjectNode node = Json.envelope(settings.clock());
            node.put("uptime_s", Duration.between(started, settings.clock().instant()).toSeconds());
            node.setAll(Json.MAPPER.<ObjectNode>valueToTree(ProcessMetrics.snapshot(settings.stateDir())));
            ((ObjectNode) node.get("disk")).setAll(Json.MAPPER.<ObjectNode>valueToTree(disk.view()));
            node.put("outbox", outbox.size());
            node.put("outbox_in_memory", outbox.inMemory());
            node.put("results_dropped", resultsDropped.get());
            node.set("models", Json.MAPPER.valueToTree(health.get()));
            link.publish(topics.health(), Json.bytes(node), 0, false, healthPeriod.multipliedBy(2));
        } catch (RuntimeException e) {
            // A failed report must not cancel the schedule: the next period tries again.
            Logger.error(e, "fleet: health report failed");
        }
    }

    private static long readSession(Path file) {
        try {
            return Files.exists(file) ? Long.parseLong(Files.readString(file).strip()) : 0;
        } catch (IOException | NumberFormatException e) {
            Logger.warn("fleet: session counter {} unreadable ({}); counting from 0", file, e.getMessage());
            return 0;
        }
    }

    private void writeSession(long n) {
        try {
            Files.writeString(sessionFile, Long.toString(n));
        } catch (IOException e) {
            Logger.warn("fleet: cannot write session counter {}: {}", sessionFile, e.getMessage());
        }
    }

    /**
     * Publishes {@code offline} (retained, waiting up to {@link #OFFLINE_WAIT} for the broker),
     * disconnects cleanly so the Last Will is not sent, and stops both threads. A broker that does
     * not acknowledge in time (hung, or the path to it silent) gets no DISCONNECT either: the
     * connection is dropped, and the broker sends the Last Will once it notices. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (link.isConnected() && offlineAcknowledged()) {
            link.close();
        } else {
            link.abort();
        }
        stop();
        int queued = outbox.size();
        if (queued > 0) {
            Logger.warn("fleet: {} event(s) remain queued in {}, not acknowledged by the broker; they are sent after "
                    + "the next start, once a broker is reachable", queued, outbox.directory());
        } else {
            Logger.info("fleet: every event acknowledged by the broker; none queued");
        }
    }

    private boolean offlineAcknowledged() {
        ObjectNode status = status("offline");
        status.put("session", session.get());
        status.put("reason", "shutdown");
        try {
            link.publish(topics.status(), Json.bytes(status), 1, true, null)
                    .get(OFFLINE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            Logger.warn("fleet: status offline not sent: {}", e.getCause().getMessage());
        } catch (TimeoutException e) {
            Logger.warn("fleet: status offline not acknowledged within {} ms; dropping the connection without "
                    + "DISCONNECT (the broker sends the Last Will)", OFFLINE_WAIT.toMillis());
        }
        return false;
    }

    /** Drops the connection as a crash would (no offline status, no DISCONNECT): for tests of the Last Will. */
    synchronized void abort() {
        closed = true;
        link.abort();
        stop();
    }

    private void stop() {
        linkExecutor.shutdownNow();
        commandExecutor.shutdownNow();
        try {
            if (!linkExecutor.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)
                    || !commandExecutor.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                Logger.warn("fleet: threads still running {} s after close", CLOSE_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        commandLog.close();
    }

    private static ThreadFactory named(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, n.getAndIncrement() == 0 ? name : name + "-" + n.get());
            t.setDaemon(true);
            return t;
        };
    }
}
