package dev.plateau.fleet;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClientException;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.util.MqttTopicValidator;
import org.tinylog.Logger;

/**
 * {@link FleetLink} on Paho's MQTT v5 async client. Paho runs all its callbacks on one thread of
 * its own; each one here only hands the event to {@code executor} (ours, single-threaded).
 *
 * <p>One Paho client per network connection: after a loss the old client is closed and a new one
 * connects under the same client id (so the broker resumes the session when it kept one), and
 * every publish the lost connection had not seen acknowledged fails at once. Whoever published
 * it decides what to send again (the outbox, the reply queue); Paho's own resend is not used, see
 * {@link ConnectLoop}.
 */
final class PahoLink implements FleetLink {
    /** A clean DISCONNECT is only tried after the broker answered (see Fleet.close): it takes milliseconds. */
    private static final long CLOSE_TIMEOUT_MS = 2_000;

    private final String serverUri;
    private final String clientId;
    private final MqttConnectionOptions options;
    private final ScheduledExecutorService executor;
    private final String broker;
    private final ConnectLoop loop;
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final List<Runnable> connectListeners = new CopyOnWriteArrayList<>();
    /** Publishes on the current connection not yet acknowledged; failed when it is lost. */
    private final Set<CompletableFuture<Void>> unacknowledged = ConcurrentHashMap.newKeySet();
    /** The current connection's client; null between a loss and the next attempt. */
    private volatile MqttAsyncClient client;
    /** Link thread only: whether a connection was ever made, for the log. */
    private boolean everConnected;
    private volatile boolean closed;

    private record Subscription(int qos, MessageHandler handler) {}

    /**
     * @param serverUri a Paho URI ({@code tcp://}, {@code ssl://}, {@code ws://}, {@code wss://})
     * @param options   connect options, will included; Paho's automatic reconnect is switched off here
     */
    PahoLink(String serverUri, String clientId, MqttConnectionOptions options, ScheduledExecutorService executor,
             Backoff backoff) {
        this.serverUri = serverUri;
        this.clientId = clientId;
        this.options = options;
        this.executor = executor;
        this.broker = serverUri;
        options.setAutomaticReconnect(false);
        try {
            // The first client at once: a URI Paho refuses fails here, not in the background.
            this.client = newClient();
        } catch (MqttException e) {
            throw new FleetException("mqtt: cannot create a client for " + serverUri + " as " + clientId, e);
        }
        this.loop = new ConnectLoop(this::connectOnce,
                (task, delay) -> executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS), backoff, serverUri);
    }

    private MqttAsyncClient newClient() throws MqttException {
        MqttAsyncClient c = new MqttAsyncClient(serverUri, clientId, new MemoryPersistence());
        c.setCallback(new Callback(c));
        return c;
    }

    /** Starts connecting in the background; returns at once. */
    void start() {
        loop.start();
    }

    private void connectOnce(Consumer<Throwable> outcome) {
        try {
            MqttAsyncClient c = client;
            if (c == null) {
                c = newClient();
                client = c;
            }
            c.connect(options, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    handOff(() -> outcome.accept(null));
                }

                @Override
                public void onFailure(IMqttToken token, Throwable failure) {
                    handOff(() -> outcome.accept(failure));
                }
            });
        } catch (MqttException e) {
            outcome.accept(e);
        }
    }

    @Override
    public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retain, Duration expiry) {
        MqttMessage message = new MqttMessage(payload, qos, retain, new MqttProperties());
        if (expiry != null) {
            message.getProperties().setMessageExpiryInterval(Math.max(1, expiry.toSeconds()));
        }
        return send(topic, message);
    }

    @Override
    public CompletableFuture<Void> reply(String topic, byte[] payload, Optional<byte[]> correlationData) {
        MqttMessage message = new MqttMessage(payload, 1, false, new MqttProperties());
        correlationData.ifPresent(message.getProperties()::setCorrelationData);
        return send(topic, message);
    }

    private CompletableFuture<Void> send(String topic, MqttMessage message) {
        message.getProperties().setPayloadFormat(true);
        message.getProperties().setContentType("application/json");
        CompletableFuture<Void> done = new CompletableFuture<>();
        MqttAsyncClient c = client;
        if (c == null || !c.isConnected()) {
            done.completeExceptionally(new FleetException("mqtt: not connected to " + broker + "; not sent to " + topic));
            return done;
        }
        unacknowledged.add(done);
        done.whenComplete((ok, failure) -> unacknowledged.remove(done));
        try {
            c.publish(topic, message, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    handOff(() -> done.complete(null));
                }

                @Override
                public void onFailure(IMqttToken token, Throwable failure) {
                    handOff(() -> done.completeExceptionally(new FleetException("mqtt: publish to " + topic
                            + " failed: " + ConnectLoop.describe(failure), failure)));
                }
            });
        } catch (MqttException e) {
            done.completeExceptionally(e.getReasonCode() == MqttClientException.REASON_CODE_MAX_INFLIGHT
                    ? new LinkBusyException("mqtt: publish to " + topic + " not started: the client's in-flight "
                            + "window is full", e)
                    : new FleetException("mqtt: publish to " + topic + " failed: " + ConnectLoop.describe(e), e));
        }
        return done;
    }

    @Override
    public void subscribe(String filter, int qos, MessageHandler handler) {
        MqttTopicValidator.validate(filter, true, true);
        subscriptions.put(filter, new Subscription(qos, handler));
        if (isConnected()) {
            subscribeOnce(filter, qos);
        }
    }

    private void subscribeOnce(String filter, int qos) {
        MqttAsyncClient c = client;
        if (c == null) {
            return; // lost meanwhile: the next connect subscribes
        }
        try {
            c.subscribe(filter, qos);
        } catch (MqttException e) {
            // The next reconnect subscribes again; until then the filter is just not served.
            Logger.warn("fleet: subscribe to {} failed: {}", filter, e.getMessage());
        }
    }

    @Override
    public void onConnected(Runnable action) {
        connectListeners.add(action);
    }

    @Override
    public boolean isConnected() {
        MqttAsyncClient c = client;
        return c != null && c.isConnected();
    }

    /** Drops the connection without DISCONNECT, as a crash would: the broker publishes the Last Will. */
    void abort() {
        closed = true;
        loop.stop();
        MqttAsyncClient c = client;
        if (c != null) {
            discard(c);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        loop.stop();
        MqttAsyncClient c = client;
        if (c == null) {
            return;
        }
        if (c.isConnected()) {
            try {
                c.disconnect(CLOSE_TIMEOUT_MS).waitForCompletion(CLOSE_TIMEOUT_MS);
            } catch (MqttException e) {
                Logger.debug("fleet: disconnect from {}: {}", broker, e.getMessage());
            }
            closeClient(c);
        } else {
            discard(c); // stops a connect in progress
        }
    }

    /** Drops {@code c}'s connection without DISCONNECT, if it has one, and frees it. */
    private void discard(MqttAsyncClient c) {
        try {
            c.disconnectForcibly(0, 1, false);
        } catch (MqttException e) {
            Logger.debug("fleet: forced disconnect: {}", e.getMessage());
        }
        closeClient(c);
    }

    private static void closeClient(MqttAsyncClient c) {
        try {
            c.close(true);
        } catch (MqttException e) {
            Logger.debug("fleet: close client: {}", e.getMessage());
        }
    }

    /**
     * The connection of {@code owner} ended (the broker went, dropped us, or the network did):
     * fail what it left unacknowledged, free the client, and connect again with a new one.
     */
    private void lost(MqttAsyncClient owner, String why) {
        if (closed || owner != client) {
            return; // a client we already left behind
        }
        Logger.warn("fleet: disconnected from {}: {}; {} publish(es) unacknowledged, reconnecting", broker, why,
                unacknowledged.size());
        client = null;
        FleetException lost = new FleetException("mqtt: connection to " + broker + " lost before the broker "
                + "acknowledged (" + why + ")");
        for (CompletableFuture<Void> f : List.copyOf(unacknowledged)) {
            f.completeExceptionally(lost);
        }
        discard(owner);
        loop.lost();
    }

    /** After {@link #close()} our executor may be gone; late Paho events are then dropped. */
    private void handOff(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            Logger.debug("fleet: event after close dropped");
        }
    }

    private void connected(MqttAsyncClient owner) {
        if (closed || owner != client) {
            return;
        }
        Logger.info("fleet: {} to {}; subscribing to {}", everConnected ? "reconnected" : "connected", broker,
                subscriptions.keySet());
        everConnected = true;
        subscriptions.forEach((filter, s) -> subscribeOnce(filter, s.qos()));
        for (Runnable listener : connectListeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                Logger.error(e, "fleet: a connect listener failed");
            }
        }
    }

    /** The broker's reason code and string when it sent DISCONNECT, else the cause of the loss. */
    private static String describe(MqttDisconnectResponse response) {
        if (response.getException() != null) {
            return ConnectLoop.describe(response.getException());
        }
        return "broker sent DISCONNECT, reason code " + response.getReturnCode()
                + (response.getReasonString() == null ? "" : " (" + response.getReasonString() + ")");
    }

    private void arrived(String topic, MqttMessage message) {
        MqttProperties p = message.getProperties();
        Message m = new Message(topic, message.getPayload(), message.getQos(),
                Optional.ofNullable(p == null ? null : p.getResponseTopic()),
                Optional.ofNullable(p == null ? null : p.getCorrelationData()));
        subscriptions.forEach((filter, s) -> {
            if (MqttTopicValidator.isMatched(filter, topic)) {
                try {
                    s.handler().handle(m);
                } catch (RuntimeException e) {
                    Logger.error(e, "fleet: handler for {} failed on {}", filter, topic);
                }
            }
        });
    }

    /**
     * Hands every event of one client to our executor; Paho's callback thread must never block or
     * publish. Events of a client no longer current are dropped there.
     */
    private final class Callback implements MqttCallback {
        private final MqttAsyncClient owner;

        Callback(MqttAsyncClient owner) {
            this.owner = owner;
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
            handOff(() -> lost(owner, describe(response)));
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            handOff(() -> Logger.warn("fleet: mqtt error: {}", exception.getMessage()));
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            handOff(() -> {
                if (owner == client) {
                    arrived(topic, message);
                }
            });
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // Completion is reported per publish through its action listener.
        }

        @Override
        public void connectComplete(boolean reconnect, String serverUri) {
            handOff(() -> connected(owner));
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            // No enhanced authentication is configured.
        }
    }
}
