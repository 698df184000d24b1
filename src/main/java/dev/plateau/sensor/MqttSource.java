package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InputNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * Inputs published on an MQTT topic, one image or CSV window per message. Messages wait in a
 * bounded queue (oldest dropped when full: a live sensor's newest window matters most) and are
 * handled on the source pool every {@link #DRAIN_MILLIS} ms; each is written to a spool file
 * first, so the pipeline, the sample store and the rejection reasons are the same as for files.
 */
public final class MqttSource implements Source {
    public static final long DRAIN_MILLIS = 100;
    /** Larger than any frame or window a model here takes; a bigger message is a gateway fault. */
    static final int MAX_PAYLOAD = 16 * 1024 * 1024;

    /** Subscribes to the source's topic, handing each payload on; closing the result ends it. */
    @FunctionalInterface
    public interface Subscriber {
        AutoCloseable subscribe(Consumer<byte[]> payloads);
    }

    private final SourceConfig.Mqtt config;
    private final Subscriber subscriber;
    private final InputHandler handler;
    private final ScheduledExecutorService scheduler;
    private final Path spool;
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private long dropped;
    private long seq;
    private AutoCloseable subscription;
    private ScheduledFuture<?> task;

    /**
     * @param subscriber the MQTT client side (the fleet package's), so this package stays free of it
     * @param stateDir   spool files go under {@code spool/<source>/} in it
     */
    public MqttSource(SourceConfig.Mqtt config, Subscriber subscriber, InputHandler handler,
                      ScheduledExecutorService scheduler, Path stateDir) {
        this.config = config;
        this.subscriber = subscriber;
        this.handler = handler;
        this.scheduler = scheduler;
        this.spool = stateDir.resolve("spool").resolve(config.name());
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public synchronized void start() {
        try {
            Files.createDirectories(spool);
            // Leftovers of a crash: messages of a clean-start session are not worth keeping.
            try (Stream<Path> old = Files.list(spool)) {
                for (Path p : old.toList()) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("source " + config.name() + ": cannot prepare " + spool, e);
        }
        subscription = subscriber.subscribe(this::arrived);
        task = scheduler.scheduleWithFixedDelay(this::drain, 0, DRAIN_MILLIS, TimeUnit.MILLISECONDS);
        Logger.info("source {}: subscribing to {} (qos {}, queue {})", config.name(), config.topic(), config.qos(),
                config.queue());
    }

    private void arrived(byte[] payload) {
        if (payload.length > MAX_PAYLOAD) {
            Logger.warn("source {}: message of {} bytes dropped (limit {})", config.name(), payload.length, MAX_PAYLOAD);
            return;
        }
        synchronized (queue) {
            if (queue.size() >= config.queue()) {
                queue.poll();
                if (dropped++ % 100 == 0) {
                    Logger.warn("source {}: queue of {} full, oldest message dropped ({} so far)", config.name(),
                            config.queue(), dropped);
                }
            }
            queue.add(payload);
        }
    }

    private void drain() {
        while (true) {
            byte[] payload;
            synchronized (queue) {
                payload = queue.poll();
            }
            if (payload == null) {
                return;
            }
            Path file = spool.resolve(String.format("%012d%s", seq++, extension(payload)));
            try {
                Files.write(file, payload);
                handler.handle(config.name(), file);
            } catch (IOException | RuntimeException e) {
                // One bad message must not cancel the periodic drain.
                Logger.error(e, "source {}: handling message {} failed", config.name(), InputNames.of(file));
            } catch (Error e) {
                // Nor an Error (out of memory, a stack overflow): the message is dropped, the
                // source goes on. A message that kills the process is not read again either:
                // start() clears the spool.
                Logger.error(e, "source {}: handling message {} failed with {}; dropped, the source goes on",
                        config.name(), InputNames.of(file), e.getClass().getName());
            } finally {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    Logger.warn("source {}: cannot remove spool file {}: {}", config.name(), file, e.getMessage());
                }
            }
        }
    }

    /** The file name's extension by the payload's magic bytes: PNG, JPEG, else a CSV window. */
    static String extension(byte[] p) {
        if (p.length >= 4 && (p[0] & 0xff) == 0x89 && p[1] == 'P' && p[2] == 'N' && p[3] == 'G') {
            return ".png";
        }
        if (p.length >= 2 && (p[0] & 0xff) == 0xff && (p[1] & 0xff) == 0xd8) {
            return ".jpg";
        }
        return ".csv";
    }

    /** Messages dropped because the queue was full. */
    public long dropped() {
        synchronized (queue) {
            return dropped;
        }
    }

    @Override
    public synchronized void close() {
        if (subscription != null) {
            try {
                subscription.close();
            } catch (Exception e) {
                Logger.warn("source {}: closing the subscription: {}", config.name(), e.getMessage());
            }
            subscription = null;
        }
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }
}
