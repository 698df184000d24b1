package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import dev.plateau.inference.InputNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.Comparator;
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
 *
 * <p>A file that may have crashed the process is not read again: before it is handed on it is
 * moved (durably) into {@code .handling/}, the "in handling" marker, and out again once handled.
 * What {@code start()} finds left there was being handled when the process died; it goes to
 * {@code rejected/} unread, with that reason. Entries that are not regular files (links, FIFOs,
 * devices, directories) are handed on like the others, for the handler to refuse with a reason;
 * nothing here opens them. An {@link Error} while handling one file (out of memory, a stack
 * overflow) rejects that file and the source goes on; names in the log are escaped.
 */
public final class DirectorySource implements Source {
    public static final String PROCESSED = "processed";
    public static final String REJECTED = "rejected";
    /** Where a file is while it is handled; a leftover there was being handled when the process died. */
    public static final String HANDLING = ".handling";
    static final String CRASHED_REASON = "QUARANTINED: was being handled when the process died; moved here unread, "
            + "in case it was the cause";

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
            folders();
            quarantineLeftovers();
        } catch (IOException e) {
            throw new UncheckedIOException("source " + config.name() + ": cannot prepare " + config.path(), e);
        }
        task = scheduler.scheduleWithFixedDelay(this::poll, 0, config.pollMillis(), TimeUnit.MILLISECONDS);
        Logger.info("source {}: watching {} every {} ms", config.name(), config.path(), config.pollMillis());
    }

    private void folders() throws IOException {
        Files.createDirectories(config.path().resolve(PROCESSED));
        Files.createDirectories(config.path().resolve(REJECTED));
        Files.createDirectories(config.path().resolve(HANDLING));
    }

    /** Moves what a dead process left in {@code .handling/} to {@code rejected/}, unread. */
    void quarantineLeftovers() throws IOException {
        Path handling = config.path().resolve(HANDLING);
        List<Path> left;
        try (Stream<Path> entries = Files.list(handling)) {
            left = entries.sorted().toList();
        }
        for (Path file : left) {
            Path target = unique(config.path().resolve(REJECTED), file.getFileName().toString());
            writeReason(target, CRASHED_REASON);
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
            Logger.warn("source {}: {} was being handled when the process died; moved to {}/ unread",
                    config.name(), InputNames.of(file), REJECTED);
        }
        if (!left.isEmpty()) {
            sync(config.path().resolve(REJECTED));
        }
    }

    /** One pass over the inbox; public for tests that drive the source without a scheduler. */
    public void poll() {
        try {
            folders(); // again: someone may have removed one while we run
            for (Path file : ready()) {
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                handleOne(file);
            }
        } catch (IOException | RuntimeException | Error e) {
            // The next poll tries again; the files are still in the inbox (or in .handling/, for
            // the next start to quarantine). An Error must not end the periodic task unlogged.
            Logger.error(e, "source {}: polling {} failed", config.name(), config.path());
        }
    }

    private void handleOne(Path file) throws IOException {
        String name = file.getFileName().toString();
        Path claimed = unique(config.path().resolve(HANDLING), name);
        Files.move(file, claimed, StandardCopyOption.ATOMIC_MOVE);
        // The marker must be on disk before decoding starts: the rename is in the journal once
        // the directory it went into is synced.
        sync(claimed.getParent());
        InputHandler.Result result;
        try {
            result = handler.handle(config.name(), claimed);
        } catch (RuntimeException e) {
            Logger.error(e, "source {}: handling {} failed; back in the inbox for the next poll", config.name(),
                    InputNames.of(file));
            Files.move(claimed, unique(config.path(), name), StandardCopyOption.ATOMIC_MOVE);
            return;
        } catch (Error e) {
            Logger.error(e, "source {}: handling {} failed with {}; moved to {}/, the source goes on", config.name(),
                    InputNames.of(file), e.getClass().getName(), REJECTED);
            result = new InputHandler.Result(InputHandler.Outcome.FAILED, InputNames.of(file) + ": handling failed with "
                    + e.getClass().getName() + "; not retried");
        }
        file(claimed, name, result);
    }

    private record Entry(Path file, long modified) {}

    private List<Path> ready() throws IOException {
        long settledBefore = clock.millis() - config.settleMillis();
        try (Stream<Path> entries = Files.list(config.path())) {
            return entries.filter(f -> !f.getFileName().toString().startsWith("."))
                    .filter(f -> !f.getFileName().toString().endsWith(".part"))
                    .filter(f -> !own(f))
                    .map(f -> new Entry(f, modified(f)))
                    .filter(e -> e.modified() <= settledBefore)
                    .sorted(Comparator.comparingLong(Entry::modified))
                    .map(Entry::file)
                    .toList();
        }
    }

    /** {@code processed/} and {@code rejected/}: ours, never inputs. */
    private boolean own(Path entry) {
        String name = entry.getFileName().toString();
        return (name.equals(PROCESSED) || name.equals(REJECTED)) && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS);
    }

    /** The entry's own modification time: a link is not followed. */
    private static long modified(Path file) {
        try {
            FileTime time = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .lastModifiedTime();
            return time.toMillis();
        } catch (IOException e) {
            return Long.MAX_VALUE; // gone or unreadable now; looked at again next poll
        }
    }

    private void file(Path claimed, String name, InputHandler.Result result) throws IOException {
        boolean ok = result.outcome() == InputHandler.Outcome.INFERRED;
        Path dir = config.path().resolve(ok ? PROCESSED : REJECTED);
        Path target = unique(dir, name);
        // The reason first: a crash between the two leaves a reason whose file is quarantined on the
        // next start, never a rejected file without its reason.
        if (!ok) {
            writeReason(target, result.outcome() + ": " + result.reason());
        }
        Files.move(claimed, target, StandardCopyOption.ATOMIC_MOVE);
        // Out of .handling/ for good: a crash now must not quarantine a file that was handled.
        sync(dir);
    }

    /** Writes the reason beside {@code target} whole or not at all: a temporary file renamed into place. */
    private static void writeReason(Path target, String reason) throws IOException {
        Path file = target.resolveSibling(target.getFileName() + ".reason.txt");
        Path part = target.resolveSibling("." + target.getFileName() + ".reason.part");
        Files.writeString(part, reason + System.lineSeparator(), StandardCharsets.UTF_8);
        try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void sync(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** A name in {@code dir} not yet taken: inputs with the same name never overwrite each other. */
    private static Path unique(Path dir, String name) throws FileAlreadyExistsException {
        Path target = dir.resolve(name);
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : "";
        for (int i = 1; Files.exists(target, LinkOption.NOFOLLOW_LINKS); i++) {
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
