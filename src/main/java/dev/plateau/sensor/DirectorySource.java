package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * Watches a directory for new files. Each file is handled, then moved to {@code processed/} or
 * {@code rejected/} (with a {@code .reason.txt} beside it) inside the watched directory: a file
 * leaves the inbox only after it was handled, so a crash re-handles it rather than losing it.
 *
 * <p>Polling rather than inotify: it works on every filesystem an SD card or overlay gives us, and
 * a file is taken only once it has not changed for {@code settle_ms}, so half-written files wait.
 * Writers should still write under a dot-name or {@code .part} and rename when done.
 */
public final class DirectorySource implements Source {
    public static final String PROCESSED = "processed";
    public static final String REJECTED = "rejected";

    private final SourceConfig.Directory config;
    private final InputHandler handler;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private ScheduledFuture<?> task;

    public DirectorySource(SourceConfig.Directory config, InputHandler handler, ScheduledExecutorService scheduler,
                           Clock clock) {
        this.config = config;
        this.handler = handler;
        this.scheduler = scheduler;
        this.clock = clock;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public synchronized void start() {
        try {
            Files.createDirectories(config.path().resolve(PROCESSED));
            Files.createDirectories(config.path().resolve(REJECTED));
        } catch (IOException e) {
            throw new UncheckedIOException("source " + config.name() + ": cannot create " + config.path(), e);
        }
        task = scheduler.scheduleWithFixedDelay(this::poll, 0, config.pollMillis(), TimeUnit.MILLISECONDS);
        Logger.info("source {}: watching {} every {} ms", config.name(), config.path(), config.pollMillis());
    }

    /** One pass over the inbox; public for tests that drive the source without a scheduler. */
    public void poll() {
        try {
            for (Path file : ready()) {
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                InputHandler.Result result = handler.handle(config.name(), file);
                file(file, result);
            }
        } catch (IOException | RuntimeException e) {
            // The next poll tries again; the files are still in the inbox.
            Logger.error(e, "source {}: polling {} failed", config.name(), config.path());
        }
    }

    private List<Path> ready() throws IOException {
        long settledBefore = clock.millis() - config.settleMillis();
        try (Stream<Path> entries = Files.list(config.path())) {
            return entries.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().startsWith("."))
                    .filter(f -> !f.getFileName().toString().endsWith(".part"))
                    .filter(f -> modified(f) <= settledBefore)
                    .sorted((a, b) -> Long.compare(modified(a), modified(b)))
                    .toList();
        }
    }

    private static long modified(Path file) {
        try {
            FileTime time = Files.getLastModifiedTime(file);
            return time.toMillis();
        } catch (IOException e) {
            return Long.MAX_VALUE; // gone or unreadable now; looked at again next poll
        }
    }

    private void file(Path file, InputHandler.Result result) throws IOException {
        boolean ok = result.outcome() == InputHandler.Outcome.INFERRED;
        Path target = unique(config.path().resolve(ok ? PROCESSED : REJECTED), file.getFileName().toString());
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        if (!ok) {
            Files.writeString(target.resolveSibling(target.getFileName() + ".reason.txt"),
                    result.outcome() + ": " + result.reason() + System.lineSeparator(), StandardCharsets.UTF_8);
        }
    }

    /** A name in {@code dir} not yet taken: inputs with the same name never overwrite each other. */
    private static Path unique(Path dir, String name) throws FileAlreadyExistsException {
        Path target = dir.resolve(name);
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : "";
        for (int i = 1; Files.exists(target); i++) {
            if (i > 100_000) {
                throw new FileAlreadyExistsException(target.toString());
            }
            target = dir.resolve(stem + "-" + i + ext);
        }
        return target;
    }

    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }
}
