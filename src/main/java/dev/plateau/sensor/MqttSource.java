package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InputNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * Inputs published on an MQTT topic, one image or CSV window per message. Messages wait in a
 * bounded {@link InputQueue} (when full, the oldest or the newest is dropped, as configured:
 * {@code drop}) and are handled on the source pool every {@link #DRAIN_MILLIS} ms; each is
 * written to a spool file first, so the pipeline, the sample store and the rejection reasons are
 * the same as for files. Drops are counted ({@link #queueStats()}), logged as one line per minute with
 * the count, and told to a {@link DropListener} as often.
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
    private final InputQueue queue;
    private final DropListener drops;
    private long seq;
    private AutoCloseable subscription;
    private ScheduledFuture<?> task;

    /**
     * @param subscriber the MQTT client side (the fleet package's), so this package stays free of it
     * @param stateDir   spool files go under {@code spool/<source>/} in it
     * @param clock      monotonic time, for waits and the drop reports' period
     */
    public MqttSource(SourceConfig.Mqtt config, Subscriber subscriber, InputHandler handler,
                      ScheduledExecutorService scheduler, Path stateDir, Clock clock, DropListener drops) {
        this.config = config;
        this.subscriber = subscriber;
        this.handler = handler;
        this.scheduler = scheduler;
        this.spool = stateDir.resolve("spool").resolve(config.name());
        this.queue = new InputQueue(config.name(), config.queue(), config.drop(), clock);
        this.drops = drops;
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
        Logger.info("source {}: subscribing to {} (qos {}, queue {}, drop {} when full)", config.name(),
                config.topic(), config.qos(), config.queue(), config.drop().label());
    }

    // On the subscriber's thread: quick, never blocks.
    private void arrived(byte[] payload) {
        if (payload.length > MAX_PAYLOAD) {
            queue.refused();
            Logger.warn("source {}: message of {} bytes dropped (limit {})", config.name(), payload.length, MAX_PAYLOAD);
            return;
        }
        queue.offer(payload);
    }

    private void drain() {
        reportDrops(false);
        while (true) {
            Optional<InputQueue.Entry> next = queue.poll();
            if (next.isEmpty()) {
                return;
            }
            byte[] payload = next.get().payload();
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
                queue.finished(next.get());
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    Logger.warn("source {}: cannot remove spool file {}: {}", config.name(), file, e.getMessage());
                }
            }
            reportDrops(false);
        }
    }

    /** One line (and one report) per minute at most, with the count, never one per drop. */
    private void reportDrops(boolean now) {
        long n = queue.dropsToReport(now);
        if (n == 0) {
            return;
        }
        QueueStats s = queue.stats();
        Logger.warn("source {}: {} message(s) dropped, queue of {} full, the {} going ({} dropped of {} received "
                + "since start; reported at most once a minute)", config.name(), n, s.capacity(),
                s.policy() == SourceConfig.Drop.OLDEST ? "oldest waiting" : "newest arriving", s.dropped(),
                s.received());
        try {
            drops.dropped(s, n);
        } catch (RuntimeException e) {
            Logger.error(e, "source {}: reporting drops failed", config.name());
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

    /** What the queue did since start; every message received is accounted for. */
    @Override
    public Optional<QueueStats> queueStats() {
        return Optional.of(queue.stats());
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
        reportDrops(true);
    }
}
