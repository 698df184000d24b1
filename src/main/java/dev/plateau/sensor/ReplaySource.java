package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.SampleDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Cycles over the files of a directory at a fixed rate, as a camera or sensor would deliver
 * them. Files are never moved; with {@code shuffle} each cycle has its own seeded order.
 */
public final class ReplaySource implements Source {
    private final SourceConfig.Replay config;
    private final InputHandler handler;
    private final ScheduledExecutorService scheduler;
    private final List<Path> files;
    private final Random random;
    private ScheduledFuture<?> task;
    private int next;

    public ReplaySource(SourceConfig.Replay config, InputHandler handler, ScheduledExecutorService scheduler) {
        this.config = config;
        this.handler = handler;
        this.scheduler = scheduler;
        this.files = new ArrayList<>(SampleDirectory.allFiles(config.path()));
        this.random = new Random(config.seed());
        if (files.isEmpty()) {
            throw new IllegalArgumentException("source " + config.name() + ": no files to replay in " + config.path());
        }
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public synchronized void start() {
        long periodMicros = Math.max(1, Math.round(1_000_000 / config.rateHz()));
        task = scheduler.scheduleAtFixedRate(this::tick, 0, periodMicros, TimeUnit.MICROSECONDS);
        Logger.info("source {}: replaying {} files from {} at {} Hz", config.name(), files.size(), config.path(),
                config.rateHz());
    }

    private void tick() {
        Path file;
        synchronized (this) {
            if (next == 0 && config.shuffle()) {
                Collections.shuffle(files, random);
            }
            file = files.get(next);
            next = (next + 1) % files.size();
        }
        try {
            handler.handle(config.name(), file);
        } catch (RuntimeException | Error e) {
            // A periodic task that throws is cancelled silently; one bad input, even one that runs
            // the decoder out of memory, must not stop the source.
            Logger.error(e, "source {}: handling {} failed with {}; the source goes on", config.name(),
                    InputNames.of(file), e.getClass().getName());
        }
    }

    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }
}
