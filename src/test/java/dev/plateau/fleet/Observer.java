package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/** A second client acting as the fleet: records what it receives and sends requests. */
final class Observer implements AutoCloseable {
    record Received(String topic, MqttMessage message) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(message.getPayload());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    final MqttClient client;
    final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

    Observer(Broker broker, String... filters) throws MqttException {
        this(broker.uri(), filters);
    }

    /** @param uri any broker's Paho URI */
    Observer(String uri, String... filters) throws MqttException {
        client = new MqttClient(uri, "observer-" + UUID.randomUUID(), new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        client.connect(options);
        for (String filter : filters) {
            // Paho 1.2.5's subscribe(String, int, listener) recurses into itself; the array form works.
            client.subscribe(new MqttSubscription[] {new MqttSubscription(filter, 1)},
                    new IMqttMessageListener[] {(topic, message) -> received.add(new Received(topic, message))});
        }
    }

    /** The next message on {@code topic}, skipping others; fails after {@code timeout}. */
    Received next(String topic, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Received r = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (r == null) {
                throw new AssertionError("nothing on " + topic + " within " + timeout);
            }
            if (r.topic().equals(topic)) {
                return r;
            }
        }
    }

    void request(String topic, String payload, String responseTopic, byte[] correlation) throws MqttException {
        request(topic, payload.getBytes(java.nio.charset.StandardCharsets.UTF_8), responseTopic, correlation);
    }

    void request(String topic, byte[] payload, String responseTopic, byte[] correlation) throws MqttException {
        MqttProperties p = new MqttProperties();
        p.setResponseTopic(responseTopic);
        p.setCorrelationData(correlation);
        MqttMessage m = new MqttMessage(payload, 1, false, p);
        for (int attempt = 0; ; attempt++) {
            try {
                client.publish(topic, m);
                return;
            } catch (MqttException e) {
                // In a burst our own window of unacknowledged publishes may be full for a moment.
                if (e.getReasonCode() != org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_MAX_INFLIGHT
                        || attempt > 1000) {
                    throw e;
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    @Override
    public void close() throws MqttException {
        if (client.isConnected()) {
            client.disconnect();
        }
        client.close();
    }
}
