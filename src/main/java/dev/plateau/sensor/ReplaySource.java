package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.SampleDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Cycles over the files of a directory at a fixed rate, as a camera or sensor would deliver
 * them. Files are never moved; with {@code shuffle} each cycle has its own seeded order.
 *
 * <p>With a {@code shift} the replay simulates a camera that degrades: from the configured second
 * on, each image is delivered as {@link CameraShift} makes it, written to one file in the
 * source's scratch directory (replaced at every input) and handed on from there.
 */
public final class ReplaySource implements Source {
    private final SourceConfig.Replay config;
    private final InputHandler handler;
    private final ScheduledExecutorService scheduler;
    private final List<Path> files;
    private final Random random;
    private final Optional<CameraShift> shift;
    /** Inputs before the shift starts: its {@code after_s} at the nominal rate. */
    private final long shiftAfter;
    private final Path scratch;
    private final Random noise;
    private ScheduledFuture<?> task;
    private int next;
    private long delivered;

    public ReplaySource(SourceConfig.Replay config, InputHandler handler, ScheduledExecutorService scheduler) {
        this(config, handler, scheduler, null);
    }

    /** @param scratch where a shifted replay writes the degraded image it hands on; needed only with a {@code shift} */
    public ReplaySource(SourceConfig.Replay config, InputHandler handler, ScheduledExecutorService scheduler,
                        Path scratch) {
        this.config = config;
        this.handler = handler;
        this.scheduler = scheduler;
        this.shift = config.shift().map(s -> new CameraShift(s.gain(), s.noise()));
        this.shiftAfter = config.shift().map(s -> Math.round(s.afterSeconds() * config.rateHz())).orElse(0L);
        this.scratch = scratch;
        this.noise = new Random(config.seed() + 1);
        if (shift.isPresent() && scratch == null) {
            throw new IllegalArgumentException("source " + config.name() + ": a shifted replay needs a scratch directory");
        }
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
        Logger.info("source {}: replaying {} files from {} at {} Hz{}", config.name(), files.size(), config.path(),
                config.rateHz(), config.shift().map(s -> "; from input " + shiftAfter + " (" + s.afterSeconds()
                        + " s) on as a shifted camera: gain " + s.gain() + ", noise " + s.noise()).orElse(""));
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
            if (shift.isPresent() && delivered++ >= shiftAfter) {
                if (delivered - 1 == shiftAfter) {
                    Logger.info("source {}: the camera shifts now (input {}): darker and noisier", config.name(),
                            shiftAfter);
                }
                file = shifted(file);
            }
            handler.handle(config.name(), file);
        } catch (RuntimeException | Error e) {
            // A periodic task that throws is cancelled silently; one bad input, even one that runs
            // the decoder out of memory, must not stop the source.
            Logger.error(e, "source {}: handling {} failed with {}; the source goes on", config.name(),
                    InputNames.of(file), e.getClass().getName());
        }
    }

    /** The shifted camera's view of {@code file}, in the scratch directory under the same name. */
    private Path shifted(Path file) {
        try {
            Files.createDirectories(scratch);
            Path out = scratch.resolve(file.getFileName().toString());
            Path tmp = scratch.resolve(".tmp-" + file.getFileName());
            Files.write(tmp, shift.get().apply(Files.readAllBytes(file), noise));
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("source " + config.name() + ": cannot shift "
                    + InputNames.of(file) + " into " + scratch, e);
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
