package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import dev.plateau.store.SigningKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * The operator's side of the fleet link: sends a command to a node and waits for its final
 * reply, or follows what devices publish. One short-lived MQTT 5 connection per use.
 */
public final class FleetClient implements AutoCloseable {
    private final MqttClient client;
    private final String group;
    private final java.util.Map<String, BlockingQueue<JsonNode>> waiting = new java.util.concurrent.ConcurrentHashMap<>();
    private String replyTopic;

    private FleetClient(MqttClient client, String group) {
        this.client = client;
        this.group = group;
    }

    String group() {
        return group;
    }

    /** Connects to {@code broker} (a Paho URI) as a fleet operator of {@code group}. */
    public static FleetClient connect(String broker, String group, String username, char[] password) {
        try {
            MqttClient client = new MqttClient(broker, "plateau-fleet-" + UUID.randomUUID(), new MemoryPersistence());
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            options.setConnectionTimeout(10);
            if (username != null) {
                options.setUserName(username);
                options.setPassword(new String(password).getBytes(StandardCharsets.UTF_8));
            }
            client.connect(options);
            return new FleetClient(client, group);
        } catch (MqttException e) {
            throw new FleetException("cannot connect to " + broker + ": " + ConnectLoop.describe(e), e);
        }
    }

    /**
     * Sends {@code name} with {@code args} to {@code node} and hands every reply to {@code replies}
     * until the final one (rejected, succeeded or failed), which is returned.
     *
     * @throws FleetException when no final reply comes within {@code timeout}
     */
    public JsonNode send(String node, String name, ObjectNode args, Duration timeout, Consumer<JsonNode> replies) {
        return send(node, name, args, Optional.empty(), timeout, replies);
    }

    /**
     * As {@link #send(String, String, ObjectNode, Duration, Consumer)}, signed with {@code key}
     * when given (see {@link CommandSignature}): what a device with {@code mqtt.command_keys} needs.
     */
    public JsonNode send(String node, String name, ObjectNode args, Optional<SigningKey> key, Duration timeout,
                         Consumer<JsonNode> replies) {
        Topics topics = new Topics(group, node);
        String cmdId = UUID.randomUUID().toString();
        BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
        waiting.put(cmdId, received);
        try {
            String replyTopic = replyTopic();
            ObjectNode request = Json.MAPPER.createObjectNode().put("v", 1).put("cmdId", cmdId);
            request.set("args", args);
            key.ifPresent(k -> CommandSignature.sign(request, group, node, name, k, Clock.systemUTC()));
            MqttProperties properties = new MqttProperties();
            properties.setResponseTopic(replyTopic);
            properties.setCorrelationData(cmdId.getBytes(StandardCharsets.UTF_8));
            client.publish(topics.command(name), new MqttMessage(Json.MAPPER.writeValueAsBytes(request), 1, false,
                    properties));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                JsonNode reply = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (reply == null) {
                    throw new FleetException("no final reply from " + node + " to " + name + " (cmdId " + cmdId
                            + ") within " + timeout.toSeconds() + " s; the command may still run when the node returns");
                }
                replies.accept(reply);
                String state = reply.path("state").asText();
                if (!state.equals("accepted")) {
                    return reply;
                }
            }
        } catch (MqttException | IOException e) {
            throw new FleetException("sending " + name + " to " + node + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FleetException("interrupted while waiting for " + node, e);
        } finally {
            waiting.remove(cmdId);
        }
    }

    /**
     * This client's one reply topic, subscribed at its first command: replies go to the command
     * waiting for their {@code cmdId}. (A subscription per command made Paho 1.2.5 close the
     * connection by itself after a few commands on one client, against mosquitto.)
     */
    private synchronized String replyTopic() throws MqttException {
        if (replyTopic == null) {
            String topic = "plateau/v1/" + group + "/fleet/" + UUID.randomUUID() + "/reply";
            subscribe(topic, (t, message) -> {
                try {
                    JsonNode reply = Json.MAPPER.readTree(message.getPayload());
                    BlockingQueue<JsonNode> q = waiting.get(reply.path("cmdId").asText());
                    if (q != null) {
                        q.add(reply);
                    }
                } catch (IOException e) {
                    // Not a reply of ours; a listener that throws would make Paho drop the connection.
                }
            });
            replyTopic = topic;
        }
        return replyTopic;
    }

    /**
     * Hands every message under {@code plateau/v1/{group}/+/{suffix}} to {@code sink} as
     * (node, JSON) until {@code duration} has passed.
     */
    public void follow(String suffix, Duration duration, java.util.function.BiConsumer<String, JsonNode> sink) {
        String prefix = "plateau/v1/" + group + "/";
        try {
            subscribe(prefix + "+/" + suffix, (topic, message) -> {
                String node = topic.substring(prefix.length(), topic.indexOf('/', prefix.length()));
                sink.accept(node, Json.MAPPER.readTree(message.getPayload()));
            });
            Thread.sleep(duration.toMillis());
        } catch (MqttException e) {
            throw new FleetException("cannot subscribe to " + suffix + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Hands every message matching {@code filter} to {@code sink} as (topic, payload), on Paho's
     * thread: the sink must only queue or hand on.
     */
    public void receive(String filter, java.util.function.BiConsumer<String, byte[]> sink) {
        try {
            IMqttMessageListener listener = (topic, message) -> sink.accept(topic, message.getPayload());
            subscribe(filter, listener);
        } catch (MqttException e) {
            throw new FleetException("cannot subscribe to " + filter + ": " + e.getMessage(), e);
        }
    }

    /** Publishes {@code payload} at QoS 1 and waits for the broker's acknowledgement. */
    public void publish(String topic, byte[] payload) {
        try {
            client.publish(topic, new MqttMessage(payload, 1, false, new MqttProperties()));
        } catch (MqttException e) {
            throw new FleetException("cannot publish to " + topic + ": " + e.getMessage(), e);
        }
    }

    private void subscribe(String filter, IMqttMessageListener listener) throws MqttException {
        // Paho 1.2.5's subscribe(String, int, listener) recurses into itself; the array form works.
        client.subscribe(new MqttSubscription[] {new MqttSubscription(filter, 1)},
                new IMqttMessageListener[] {listener});
    }

    @Override
    public void close() {
        try {
            if (client.isConnected()) {
                client.disconnect();
            }
            client.close();
        } catch (MqttException e) {
            throw new FleetException("closing the fleet client failed: " + e.getMessage(), e);
        }
    }
}
