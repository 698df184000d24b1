package dev.plateau.fleet;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Our side of the MQTT client. Every callback (message handlers, connect listeners, the futures
 * {@link #publish} returns) runs on the link's own executor thread, never on the client's
 * callback thread, so handlers may publish. Handlers must still return quickly: one thread
 * serves the whole link.
 */
public interface FleetLink extends AutoCloseable {

    /** A received message; {@code correlationData} and {@code responseTopic} are MQTT 5 request/response. */
    record Message(String topic, byte[] payload, int qos, Optional<String> responseTopic,
                   Optional<byte[]> correlationData) {}

    @FunctionalInterface
    interface MessageHandler {
        void handle(Message message);
    }

    /**
     * Publishes now, or fails the future at once when not connected: the caller, not the client,
     * decides what waits for a broker. For QoS 1 the future completes when the broker acknowledged.
     *
     * @param expiry MQTT 5 message expiry, or {@code null} for none
     */
    CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retain, Duration expiry);

    /** A QoS 1 reply to an MQTT 5 request: the payload goes to {@code topic} with the request's correlation data. */
    CompletableFuture<Void> reply(String topic, byte[] payload, Optional<byte[]> correlationData);

    /** Subscribes now and again after every reconnect; messages matching {@code filter} go to {@code handler}. */
    void subscribe(String filter, int qos, MessageHandler handler);

    /** Runs {@code action} after every successful (re)connect, before anything queued behind it. */
    void onConnected(Runnable action);

    boolean isConnected();

    /** Disconnects cleanly (no Last Will) and frees the client; idempotent. */
    @Override
    void close();
}
