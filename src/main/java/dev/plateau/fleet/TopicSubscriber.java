package dev.plateau.fleet;

import dev.plateau.config.MqttConfig;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;

/**
 * A plain subscription on an MQTT client of its own: how an input source listens to a sensor
 * gateway. Clean start (a window from before a restart is stale), reconnects by itself, and
 * subscribes again after every connect. Messages reach {@code handler} on the subscriber's own
 * thread, one at a time; the handler must return quickly.
 */
public final class TopicSubscriber implements AutoCloseable {
    private static final Duration RECONNECT_MAX = Duration.ofSeconds(30);

    private final ScheduledExecutorService executor;
    private final PahoLink link;

    private TopicSubscriber(ScheduledExecutorService executor, PahoLink link) {
        this.executor = executor;
        this.link = link;
    }

    /**
     * Starts connecting in the background and returns.
     *
     * @param credentials the section whose username, password and TLS to use, or empty for none
     */
    public static TopicSubscriber start(URI broker, Optional<MqttConfig> credentials, String clientId, String filter,
                                        int qos, Consumer<byte[]> handler) {
        MqttConnectionOptions options = ConnectOptions.of(credentials);
        options.setCleanStart(true);
        options.setKeepAliveInterval(30);
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plateau-mqtt-" + clientId);
            t.setDaemon(true);
            return t;
        });
        PahoLink link = new PahoLink(FleetSettings.pahoUri(broker), clientId, options, executor,
                new Backoff(Duration.ofSeconds(1), RECONNECT_MAX, new Random()));
        link.subscribe(filter, qos, message -> handler.accept(message.payload()));
        link.start();
        return new TopicSubscriber(executor, link);
    }

    public boolean connected() {
        return link.isConnected();
    }

    @Override
    public void close() {
        link.close();
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
