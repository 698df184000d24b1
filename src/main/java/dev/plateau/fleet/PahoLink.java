package dev.plateau.fleet;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 */
final class PahoLink implements FleetLink {
    private static final long CLOSE_TIMEOUT_MS = 5_000;

    private final MqttAsyncClient client;
    private final MqttConnectionOptions options;
    private final ScheduledExecutorService executor;
    private final String broker;
    private final ConnectLoop loop;
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final List<Runnable> connectListeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private record Subscription(int qos, MessageHandler handler) {}

    /**
     * @param serverUri a Paho URI ({@code tcp://}, {@code ssl://}, {@code ws://}, {@code wss://})
     * @param options   connect options, will included; automatic reconnect is switched on here
     */
    PahoLink(String serverUri, String clientId, MqttConnectionOptions options, ScheduledExecutorService executor,
             Backoff backoff) {
        try {
            this.client = new MqttAsyncClient(serverUri, clientId, new MemoryPersistence());
        } catch (MqttException e) {
            throw new FleetException("mqtt: cannot create a client for " + serverUri + " as " + clientId, e);
        }
        this.options = options;
        this.executor = executor;
        this.broker = serverUri;
        options.setAutomaticReconnect(true);
        client.setCallback(new Callback());
        this.loop = new ConnectLoop(this::connectOnce,
                (task, delay) -> executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS), backoff, serverUri);
    }

    /** Starts connecting in the background; returns at once. */
    void start() {
        loop.start();
    }

    private void connectOnce(Consumer<Throwable> outcome) {
        try {
            client.connect(options, null, new MqttActionListener() {
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
        if (!client.isConnected()) {
            done.completeExceptionally(new FleetException("mqtt: not connected to " + broker + "; not sent to " + topic));
            return done;
        }
        try {
            client.publish(topic, message, null, new MqttActionListener() {
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
        if (client.isConnected()) {
            subscribeOnce(filter, qos);
        }
    }

    private void subscribeOnce(String filter, int qos) {
        try {
            client.subscribe(filter, qos);
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
        return client.isConnected();
    }

    /** Drops the connection without DISCONNECT, as a crash would: the broker publishes the Last Will. */
    void abort() {
        closed = true;
        loop.stop();
        try {
            client.disconnectForcibly(0, 1, false);
        } catch (MqttException e) {
            Logger.debug("fleet: forced disconnect: {}", e.getMessage());
        }
        closeClient();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        loop.stop();
        try {
            if (client.isConnected()) {
                client.disconnect(CLOSE_TIMEOUT_MS).waitForCompletion(CLOSE_TIMEOUT_MS);
            } else {
                // Stops a connect or reconnect in progress.
                client.disconnectForcibly(0, 1, false);
            }
        } catch (MqttException e) {
            Logger.debug("fleet: disconnect from {}: {}", broker, e.getMessage());
        }
        closeClient();
    }

    private void closeClient() {
        try {
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("fleet: close client: {}", e.getMessage());
        }
    }

    /** After {@link #close()} our executor may be gone; late Paho events are then dropped. */
    private void handOff(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            Logger.debug("fleet: event after close dropped");
        }
    }

    private void connected(boolean reconnect) {
        if (closed) {
            return;
        }
        Logger.info("fleet: {} to {}", reconnect ? "reconnected" : "connected", broker);
        subscriptions.forEach((filter, s) -> subscribeOnce(filter, s.qos()));
        for (Runnable listener : connectListeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                Logger.error(e, "fleet: a connect listener failed");
            }
        }
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

    /** Hands every event to our executor; Paho's callback thread must never block or publish. */
    private final class Callback implements MqttCallback {
        @Override
        public void disconnected(MqttDisconnectResponse response) {
            handOff(() -> Logger.warn("fleet: disconnected from {}: {}", broker, response));
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            handOff(() -> Logger.warn("fleet: mqtt error: {}", exception.getMessage()));
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            handOff(() -> arrived(topic, message));
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // Completion is reported per publish through its action listener.
        }

        @Override
        public void connectComplete(boolean reconnect, String serverUri) {
            handOff(() -> connected(reconnect));
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            // No enhanced authentication is configured.
        }
    }
}
