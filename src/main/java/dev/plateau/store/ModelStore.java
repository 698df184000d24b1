package dev.plateau.store;

import dev.plateau.model.BundleException;
import dev.plateau.model.ModelBundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.tinylog.Logger;

/**
 * Versioned models in the state directory: {@code <state>/models/<name>/versions/<NNNN>/}. A
 * version is written into a temporary directory with a {@code hashes.json} of its files, every
 * file and directory fsynced, then renamed into place and the parent fsynced, so a crash leaves
 * either a complete version or a temporary directory that is not a version. Version 0 is the
 * shipped bundle: its path is recorded in {@code <name>/shipped} and it is never written to.
 *
 * <p>{@code <name>/active} holds the active version number (first line) and the version it
 * replaced ({@code previous=N}), replaced by write-temp, fsync, rename, fsync of the directory.
 * Every decision is appended to {@code <name>/journal.jsonl}. Call {@link #open} on start.
 */
public final class ModelStore {
    public static final int SHIPPED = 0;
    private static final String TMP_PREFIX = DurableFiles.TMP_PREFIX;
    private static final String DEL_PREFIX = ".del-";
    private static final String IMPORT_PREFIX = ".import-";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final Pattern VERSION = Pattern.compile("\\d{4,9}");
    private static final Pattern QUARANTINED = Pattern.compile("(\\d{4,9})-.*");
    private static final String HIGH_WATER = "high-water";

    private final Path root;
    private final Clock clock;
    private final int keepLast;
    private final SigningKey deviceKey;

    /**
     * One lock per store directory, shared by every instance in this JVM and held across
     * processes with a file lock, so the daemon, `plateau models` and `plateau tune` never
     * interleave changes. Reentrant: an import writes and then activates under one hold.
     */
    private static final class StoreLock {
        final ReentrantLock inProcess = new ReentrantLock();
        FileChannel channel;
        FileLock held;
    }

    private static final ConcurrentHashMap<Path, StoreLock> LOCKS = new ConcurrentHashMap<>();

    private <T> T locked(Supplier<T> action) {
        StoreLock lock = LOCKS.computeIfAbsent(root.toAbsolutePath().normalize(), p -> new StoreLock());
        lock.inProcess.lock();
        try {
            if (lock.inProcess.getHoldCount() == 1) {
                Files.createDirectories(root);
                lock.channel = FileChannel.open(root.resolve(".lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
                lock.held = lock.channel.lock();
            }
            return action.get();
        } catch (IOException e) {
            throw Disk.translate("cannot lock the model store", root, 0, e)
                    .orElseGet(() -> new StoreException("cannot lock the model store " + root + ": " + e, e));
        } finally {
            if (lock.inProcess.getHoldCount() == 1 && lock.channel != null) {
                try {
                    lock.channel.close(); // releases the file lock
                } catch (IOException e) {
                    Logger.warn("model store {}: closing the lock file failed: {}", root, e.getMessage());
                }
                lock.channel = null;
                lock.held = null;
            }
            lock.inProcess.unlock();
        }
    }

    /** Versions the command-line tools keep besides the active one and the rollback target. */
    public static final int KEEP_LAST = 3;

    /**
     * A store for writing on the system clock, keeping the last {@link #KEEP_LAST} versions; versions it writes are
     * signed by the device key {@link #deviceKeyFile} when that exists (so {@code plateau tune}
     * signs its output). Checks at once that the state directory can be written.
     *
     * @throws StateDirectoryException when the state directory is read-only, not writable or not a directory
     */
    public ModelStore(Path stateDir) {
        this(stateDir, Clock.systemUTC(), KEEP_LAST, Files.exists(deviceKeyFile(stateDir))
                ? SigningKey.load(deviceKeyFile(stateDir)) : null);
    }

    /**
     * A store for looking only ({@code plateau models list|show|verify}): no check that the state
     * directory is writable, nothing created; a method that writes fails as in any store.
     */
    public static ModelStore reader(Path stateDir) {
        return new ModelStore(stateDir, Clock.systemUTC(), KEEP_LAST, null, false);
    }

    /** {@code <state>/keys/trusted/}: the public keys (*.pub) whose signatures imports accept. */
    public static Path trustedKeysDir(Path stateDir) {
        return stateDir.resolve("keys").resolve("trusted");
    }

    /** {@code <state>/keys/device.key}: the device's own key, signing locally fine-tuned versions. */
    public static Path deviceKeyFile(Path stateDir) {
        return stateDir.resolve("keys").resolve("device.key");
    }

    /** The keys this device trusts: those in {@link #trustedKeysDir} and its own device key's public half. */
    public static TrustedKeys trustedKeys(Path stateDir) {
        TrustedKeys keys = TrustedKeys.load(trustedKeysDir(stateDir));
        Path device = deviceKeyFile(stateDir);
        return Files.exists(device) ? keys.with(SigningKey.load(device).publicKey()) : keys;
    }

    /**
     * A store for writing; checks at once that the state directory and its {@code models/}, when
     * there is one, can be written.
     *
     * @param keepLast versions kept besides the active one and its rollback targets (at least 1)
     * @param deviceKey signs every version this store writes, or null to leave them unsigned
     * @throws StateDirectoryException when the state directory is read-only, not writable or not a directory
     */
    public ModelStore(Path stateDir, Clock clock, int keepLast, SigningKey deviceKey) {
        this(stateDir, clock, keepLast, deviceKey, true);
    }

    /**
     * A store for writing whose versions are signed by the device key, created on first use: the
     * daemon's and {@code plateau tune}'s store, so that every version either writes verifies.
     * The state directory is checked before the key is made.
     *
     * @throws StateDirectoryException when the state directory is read-only, not writable or not a directory
     */
    public static ModelStore signedByDevice(Path stateDir, Clock clock, int keepLast) {
        Disk.requireWritable(stateDir);
        return new ModelStore(stateDir, clock, keepLast, SigningKey.loadOrCreate(deviceKeyFile(stateDir)));
    }

    private ModelStore(Path stateDir, Clock clock, int keepLast, SigningKey deviceKey, boolean forWriting) {
        if (keepLast < 1) {
            throw new IllegalArgumentException("keepLast: at least 1 (seen " + keepLast + ")");
        }
        this.root = stateDir.resolve("models");
        this.clock = clock;
        this.keepLast = keepLast;
        this.deviceKey = deviceKey;
        if (forWriting) {
            // Nothing is created but the state directory itself: a refused fine-tune leaves no models/.
            Disk.requireWritable(stateDir);
            if (Files.exists(root)) {
                Disk.requireWritable(root);
            }
        }
    }

    /** Fills a new directory and publishes it. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    /** An activation: {@code version} is active now, and {@code previous} is what probation rolls back to. */
    public record Activation(String model, int version, int previous) {}

    /** One version as listed: its directory, whether it is active, kept or the rollback target, and its manifest version. */
    public record VersionInfo(int version, Path dir, boolean active, boolean kept, boolean rollbackTarget,
                              Optional<Integer> manifestVersion) {}

    /** One version's check by {@link #verify}: ok, and what was found. */
    public record Check(String model, int version, boolean ok, String detail) {}

    public Path modelDir(String model) {
        return root.resolve(checkName(model));
    }

    public Path versionsDir(String model) {
        return modelDir(model).resolve("versions");
    }

    /** Models with a directory in the store, by name. */
    public List<String> models() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(root)) {
            return entries.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> NAME.matcher(n).matches()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list models in " + root, e);
        }
    }

    /** Complete versions of {@code model} in the store (version 0 is not stored), ascending. */
    public List<Integer> versions(String model) {
        Path dir = versionsDir(model);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString())
                    .filter(n -> VERSION.matcher(n).matches())
                    .map(Integer::valueOf)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list versions of " + model + " in " + dir, e);
        }
    }

    public Optional<Integer> latest(String model) {
        List<Integer> versions = versions(model);
        return versions.isEmpty() ? Optional.empty() : Optional.of(versions.get(versions.size() - 1));
    }

    /**
     * The number the next new version of {@code model} must take: above every version this store
     * ever wrote, quarantined, pruned or holds, so a number never names two different models.
     * Kept durably in {@code <name>/high-water}, raised before each version is published.
     */
    public int nextVersion(String model) {
        return highWater(model) + 1;
    }

    /** The highest version number ever used by {@code model} in this store: written, quarantined or stored. */
    private int highWater(String model) {
        int high = latest(model).orElse(SHIPPED);
        Path file = modelDir(model).resolve(HIGH_WATER);
        try {
            if (Files.exists(file)) {
                high = Math.max(high, Integer.parseInt(Files.readString(file, StandardCharsets.UTF_8).trim()));
            }
        } catch (IOException | NumberFormatException e) {
            // Unreadable: the quarantine below and the stored versions still bound what was used.
            Logger.warn("model store {}: {} unreadable ({}); using the versions on disk", model, file, e.getMessage());
        }
        Path q = modelDir(model).resolve("quarantine");
        if (Files.isDirectory(q)) {
            try (Stream<Path> entries = Files.list(q)) {
                for (Path p : entries.toList()) {
                    var m = QUARANTINED.matcher(p.getFileName().toString());
                    if (m.matches()) {
                        high = Math.max(high, Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + q, e);
            }
        }
        return high;
    }

    private void raiseHighWater(String model, int version) {
        if (version > highWater(model)) {
            DurableFiles.replace(modelDir(model).resolve(HIGH_WATER), version + "\n");
        }
    }

    /** Where {@code version} lives: the store, or for version 0 the shipped bundle. */
    public Path versionDir(String model, int version) {
        if (version == SHIPPED) {
            return shipped(model).orElseThrow(() -> new StoreException("model " + model
                    + ": no shipped bundle recorded in " + modelDir(model).resolve("shipped") + "; open() records it"));
        }
        if (version < 0) {
            throw new IllegalArgumentException("version: 0 or more (seen " + version + ")");
        }
        return versionsDir(model).resolve(String.format("%04d", version));
    }

    public Optional<Path> shipped(String model) {
        Path file = modelDir(model).resolve("shipped");
        try {
            return Files.exists(file) ? Optional.of(Path.of(Files.readString(file, StandardCharsets.UTF_8).trim()))
                    : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Writes {@code version} of {@code model} atomically, with its hashes.json and, when the store
     * has a device key and the writer left no signature.json, signed by the device. Refused up
     * front when the file system has less room than the active version takes (a new version is
     * about its size); on any failure the temporary directory is removed at once.
     *
     * @throws IllegalStateException when the version exists already: versions are never overwritten
     * @throws DiskFullException when there is no room, naming the directory, bytes needed and usable
     */
    public Path write(String model, int version, Writer writer) {
        return locked(() -> {
            requireUnused(model, version);
            return writeLocked(model, version, estimateNewVersion(model), writer);
        });
    }

    private void requireUnused(String model, int version) {
        int next = nextVersion(model);
        if (version < next && !versions(model).contains(version)) {
            throw new IllegalStateException("model " + model + " version " + version + " was used before (written, "
                    + "quarantined or pruned); the next version is " + next + ": version numbers are never reused");
        }
    }

    /** About the size of a new version: the active one's files (the shipped bundle's before any). */
    private long estimateNewVersion(String model) {
        try {
            return Disk.size(activeDir(model));
        } catch (StoreException e) {
            return 0; // not opened yet: no size to go by, the write itself will tell
        }
    }

    private Path writeLocked(String model, int version, long expectedBytes, Writer writer) {
        Path target = versionDir(model, version);
        if (Files.exists(target)) {
            throw new IllegalStateException("model " + model + " version " + version + " exists already at " + target);
        }
        String what = "cannot write model " + model + " version " + version;
        Path parent = versionsDir(model);
        Path tmp = parent.resolve(TMP_PREFIX + String.format("%04d", version));
        boolean published = false;
        try {
            Files.createDirectories(parent);
            Disk.requireSpace(what, parent, expectedBytes);
            DurableFiles.deleteTree(tmp);
            Files.createDirectory(tmp);
            writer.write(tmp);
            if (deviceKey != null && !Files.exists(tmp.resolve(Hashes.SIGNATURE))) {
                deviceKey.sign(tmp);
            }
            Hashes.write(tmp, Hashes.compute(tmp));
            fsyncTree(tmp);
            raiseHighWater(model, version);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            published = true;
            DurableFiles.fsync(parent);
            journal(model).append("written", "version", version);
            return target;
        } catch (IOException e) {
            throw Disk.translate(what, parent, Math.max(expectedBytes, Disk.size(tmp)), e)
                    .<RuntimeException>map(x -> x).orElseGet(() -> new UncheckedIOException(what + " to " + target, e));
        } catch (UncheckedIOException e) {
            throw Disk.translate(what, parent, Math.max(expectedBytes, Disk.size(tmp)), e.getCause())
                    .<RuntimeException>map(x -> x).orElse(e);
        } finally {
            if (!published) {
                removeQuietly(model, tmp);
            }
        }
    }

    /** Removes a temporary directory of a failed write at once; what cannot go is left for {@link #open}. */
    private static void removeQuietly(String model, Path tmp) {
        try {
            DurableFiles.deleteTree(tmp);
        } catch (IOException e) {
            Logger.warn("model store {}: cannot remove {} after a failed write: {}", model, tmp, e.getMessage());
        }
    }

    /**
     * Checks the store on start: records the shipped bundle, removes stray temporary directories,
     * quarantines versions whose files do not match their hashes, and makes {@code active} name a
     * complete version. Each finding is journaled and returned.
     */
    public List<String> open(String model, Path shippedBundle) {
        return locked(() -> openLocked(model, shippedBundle));
    }

    private List<String> openLocked(String model, Path shippedBundle) {
        List<String> findings = new ArrayList<>();
        Journal journal = journal(model);
        try {
            Files.createDirectories(versionsDir(model));
            Path shippedAbs = shippedBundle.toAbsolutePath().normalize();
            if (!shipped(model).equals(Optional.of(shippedAbs))) {
                DurableFiles.replace(modelDir(model).resolve("shipped"), shippedAbs + "\n");
                journal.append("shipped", "version", SHIPPED, "path", shippedAbs.toString());
            }
            removeStrays(model, findings);
            for (int v : versions(model)) {
                Optional<String> bad = Hashes.mismatch(versionDir(model, v));
                if (bad.isPresent()) {
                    quarantine(model, v, bad.get());
                    findings.add("version " + v + " quarantined: " + bad.get());
                }
            }
            checkActive(model, findings);
            return findings;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the store of " + model + " in " + modelDir(model), e);
        }
    }

    private void removeStrays(String model, List<String> findings) throws IOException {
        Path versions = versionsDir(model);
        try (Stream<Path> entries = Stream.concat(Files.list(versions), Files.list(modelDir(model)))) {
            for (Path p : entries.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(TMP_PREFIX) || n.startsWith(DEL_PREFIX)) {
                    DurableFiles.deleteTree(p);
                    String what = "removed unfinished " + (n.startsWith(DEL_PREFIX) ? "deletion " : "write ")
                            + modelDir(model).relativize(p);
                    journal(model).append("recovered", "finding", what);
                    findings.add(what);
                }
            }
        }
        DurableFiles.fsync(versions);
    }

    private void checkActive(String model, List<String> findings) throws IOException {
        Optional<int[]> recorded = readActive(model);
        if (recorded.isPresent() && usable(model, recorded.get()[0])) {
            return;
        }
        int previous = recorded.map(a -> a[1]).orElse(-1);
        int fallback;
        if (previous >= 0 && usable(model, previous)) {
            fallback = previous;
        } else {
            fallback = kept(model).descendingSet().stream().filter(v -> usable(model, v)).findFirst().orElse(SHIPPED);
        }
        String what = recorded.isEmpty()
                ? (Files.exists(modelDir(model).resolve("active")) ? "active file unreadable" : "no active version")
                : "active version " + recorded.get()[0] + " is not a complete version";
        writeActive(model, fallback, -1);
        journal(model).append("recovered", "finding", what, "version", fallback,
                "reason", what + "; activated " + fallback);
        findings.add(what + "; activated " + fallback);
    }

    private boolean usable(String model, int version) {
        if (version == SHIPPED) {
            return true;
        }
        return versions(model).contains(version) && Hashes.mismatch(versionDir(model, version)).isEmpty();
    }

    /** The active version (0, the shipped bundle, when none was activated). */
    public int active(String model) {
        return readActive(model).map(a -> a[0]).orElse(SHIPPED);
    }

    /** The version probation or a plain rollback returns to, if any. */
    public Optional<Integer> rollbackTarget(String model) {
        Optional<int[]> a = readActive(model);
        if (a.isPresent() && a.get()[1] >= 0) {
            return Optional.of(a.get()[1]);
        }
        int active = active(model);
        return kept(model).headSet(active, false).descendingSet().stream().findFirst();
    }

    public Path activeDir(String model) {
        return versionDir(model, active(model));
    }

    /** Makes {@code version} active after checking its hashes and manifest; the old one becomes the rollback target. */
    public Activation activate(String model, int version, String reason) {
        return locked(() -> activateLocked(model, version, reason));
    }

    private Activation activateLocked(String model, int version, String reason) {
        int current = active(model);
        checkActivatable(model, version);
        writeActive(model, version, current == version ? rollbackTarget(model).orElse(-1) : current);
        journal(model).append("activated", "version", version, "previous", current, "reason", reason);
        retain(model);
        return new Activation(model, version, current);
    }

    /**
     * Goes back to {@code target}, or when null to the recorded rollback target (the previous
     * kept version). {@code expectedActive} guards against undoing a newer activation; -1 skips it.
     */
    public Activation rollback(String model, Integer target, int expectedActive, String reason) {
        return locked(() -> rollbackLocked(model, target, expectedActive, reason));
    }

    private Activation rollbackLocked(String model, Integer target, int expectedActive, String reason) {
        int current = active(model);
        if (expectedActive >= 0 && current != expectedActive) {
            throw new StoreException("model " + model + ": rollback from " + expectedActive + " refused, active is "
                    + current);
        }
        int to = target != null ? target : rollbackTarget(model).orElseThrow(() -> new StoreException("model "
                + model + ": nothing to roll back to from version " + current + " (kept: " + kept(model) + ")"));
        checkActivatable(model, to);
        int after = kept(model).headSet(to, false).descendingSet().stream().findFirst().orElse(-1);
        writeActive(model, to, after);
        journal(model).append("rollback", "version", to, "from", current, "reason", reason);
        return new Activation(model, to, current);
    }

    private void checkActivatable(String model, int version) {
        Path dir = versionDir(model, version);
        if (version != SHIPPED) {
            if (!versions(model).contains(version)) {
                throw new StoreException("model " + model + " has no version " + version + "; versions: " + versions(model));
            }
            Hashes.mismatch(dir).ifPresent(bad -> {
                journal(model).append("rejected", "version", version, "reason", bad);
                throw new StoreException("model " + model + " version " + version + " is damaged: " + bad);
            });
        }
        try {
            ModelBundle bundle = ModelBundle.open(dir);
            if (!bundle.manifest().name().equals(model)) {
                throw new StoreException("version " + version + " at " + dir + " is model " + bundle.manifest().name()
                        + ", not " + model);
            }
        } catch (BundleException e) {
            throw new StoreException("model " + model + " version " + version + ": " + e.getMessage(), e);
        }
    }

    /** Marks {@code version} as having survived probation. */
    public void markKept(String model, int version, String reason) {
        locked(() -> {
            markKeptLocked(model, version, reason);
            return null;
        });
    }

    private void markKeptLocked(String model, int version, String reason) {
        TreeSet<Integer> kept = kept(model);
        if (kept.add(version)) {
            DurableFiles.replace(modelDir(model).resolve("kept"), String.join(" ", kept.stream().map(String::valueOf)
                    .toList()) + "\n");
        }
        journal(model).append("kept", "version", version, "reason", reason);
    }

    /** Versions that survived probation, with 0 (the shipped bundle) always among them. */
    public TreeSet<Integer> kept(String model) {
        TreeSet<Integer> kept = new TreeSet<>();
        kept.add(SHIPPED);
        Path file = modelDir(model).resolve("kept");
        try {
            if (Files.exists(file)) {
                for (String v : Files.readString(file, StandardCharsets.UTF_8).trim().split("\\s+")) {
                    if (!v.isEmpty()) {
                        kept.add(Integer.parseInt(v));
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new StoreException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return kept;
    }

    /** Records a version's live figures, the baseline the next version's probation is compared with. */
    public void recordFigures(String model, int version, Figures figures) {
        try {
            Files.createDirectories(modelDir(model).resolve("figures"));
            DurableFiles.replace(modelDir(model).resolve("figures").resolve(String.format("%04d.json", version)),
                    Hashes.JSON.writeValueAsString(figures));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record figures of " + model + " version " + version, e);
        }
    }

    public Optional<Figures> figures(String model, int version) {
        Path file = modelDir(model).resolve("figures").resolve(String.format("%04d.json", version));
        try {
            return Files.exists(file) ? Optional.of(Hashes.JSON.readValue(file.toFile(), Figures.class)) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The journal, oldest first. */
    public List<Map<String, Object>> journalEntries(String model) {
        return journal(model).read();
    }

    /** Appends a decision made outside the store (e.g. by probation) to the model's journal. */
    public void record(String model, String event, Object... fields) {
        journal(model).append(event, fields);
    }

    public List<VersionInfo> list(String model) {
        int active = active(model);
        Optional<Integer> target = rollbackTarget(model);
        TreeSet<Integer> kept = kept(model);
        List<Integer> all = new ArrayList<>();
        if (shipped(model).isPresent()) {
            all.add(SHIPPED);
        }
        all.addAll(versions(model));
        List<VersionInfo> out = new ArrayList<>();
        for (int v : all) {
            Optional<Integer> mv;
            try {
                mv = Optional.of(ModelBundle.open(versionDir(model, v)).manifest().version());
            } catch (RuntimeException e) {
                mv = Optional.empty();
            }
            out.add(new VersionInfo(v, versionDir(model, v), v == active, kept.contains(v),
                    target.equals(Optional.of(v)), mv));
        }
        return out;
    }

    /** Checks hashes and signatures of every version, the shipped one included when it carries a signature. */
    public List<Check> verify(String model, TrustedKeys keys) {
        List<Check> checks = new ArrayList<>();
        shipped(model).ifPresent(dir -> checks.add(Files.exists(dir.resolve(Hashes.SIGNATURE))
                ? signatureCheck(model, SHIPPED, dir, keys)
                : new Check(model, SHIPPED, Files.isDirectory(dir), Files.isDirectory(dir)
                        ? "shipped bundle " + dir + ", unsigned" : "shipped bundle " + dir + " is missing")));
        for (int v : versions(model)) {
            Path dir = versionDir(model, v);
            Optional<String> bad = Hashes.mismatch(dir);
            checks.add(bad.isPresent() ? new Check(model, v, false, bad.get()) : signatureCheck(model, v, dir, keys));
        }
        return checks;
    }

    /** A temporary entry an interrupted write, deletion or import left in the store, and its size. */
    public record Leftover(String model, Path path, long bytes) {}

    /**
     * Temporary directories and files that interrupted writes, deletions and imports left behind:
     * {@link #open} removes them, so on a running device there are none.
     */
    public List<Leftover> leftovers() {
        List<Leftover> out = new ArrayList<>();
        leftoversIn("", root, out);
        for (String model : models()) {
            leftoversIn(model, modelDir(model), out);
            leftoversIn(model, versionsDir(model), out);
        }
        return out;
    }

    private static void leftoversIn(String model, Path dir, List<Leftover> out) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.sorted().toList()) {
                String n = p.getFileName().toString();
                boolean write = n.startsWith(TMP_PREFIX) && !n.startsWith(Disk.PROBE_PREFIX);
                if (write || n.startsWith(DEL_PREFIX) || n.startsWith(IMPORT_PREFIX)) {
                    out.add(new Leftover(model, p, Disk.size(p)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /**
     * The newest entry of the journal that changed what is active ({@code activated},
     * {@code rollback} or {@code recovered}), so whoever follows {@code active} can tell a rollback
     * from an activation.
     */
    public Optional<Map<String, Object>> lastChange(String model) {
        List<Map<String, Object>> entries = journal(model).read();
        for (int i = entries.size() - 1; i >= 0; i--) {
            Object event = entries.get(i).get("event");
            if ("activated".equals(event) || "rollback".equals(event) || "recovered".equals(event)) {
                return Optional.of(entries.get(i));
            }
        }
        return Optional.empty();
    }

    private static Check signatureCheck(String model, int v, Path dir, TrustedKeys keys) {
        try {
            return new Check(model, v, true, "hashes match, signed by " + keys.verify(dir));
        } catch (StoreException e) {
            return new Check(model, v, false, e.getMessage());
        }
    }

    /**
     * Imports a bundle from outside (a directory or a .zip) and activates it, only if it is signed
     * by a trusted key, every file matches the signed hashes, no path escapes the bundle, and its
     * manifest version is above the current one, unless {@code explicitRollback}. A refusal is
     * journaled and leaves the store and the active version as they were.
     *
     * @throws ImportRefusedException with the reason
     */
    public Activation importBundle(Path source, TrustedKeys keys, boolean explicitRollback) {
        return locked(() -> importBundleLocked(source, keys, explicitRollback));
    }

    private Activation importBundleLocked(Path source, TrustedKeys keys, boolean explicitRollback) {
        Path staging = null;
        String model = null;
        try {
            Path dir = source;
            if (Files.isRegularFile(source) && source.getFileName().toString().endsWith(".zip")) {
                staging = root.resolve(IMPORT_PREFIX + clock.instant().toEpochMilli());
                dir = unzip(source, staging);
            } else if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
                throw new StoreException("not a bundle directory or .zip archive");
            }
            ModelBundle bundle;
            try {
                bundle = ModelBundle.open(dir);
            } catch (BundleException e) {
                throw new StoreException(e.getMessage(), e);
            }
            String name = bundle.manifest().name();
            checkName(name);
            model = name;
            String signer = keys.verify(dir);
            int version = bundle.manifest().version();
            int current = currentVersion(model);
            if (version <= current && !explicitRollback) {
                throw new StoreException("downgrade: version " + version + " is not above the current version "
                        + current + " (an explicit rollback may go back)");
            }
            if (version < 1) {
                throw new StoreException("version " + version + ": imported versions start at 1");
            }
            Path from = dir;
            if (versions(model).contains(version)) {
                Path existing = versionDir(model, version);
                if (!Hashes.read(existing).equals(Hashes.compute(from))) {
                    throw new StoreException("version " + version + " exists already with different files");
                }
            } else {
                // An explicit rollback may bring back a number the store gave up (a quarantined copy
                // of this very bundle, say); anything else takes a number never used before.
                if (!explicitRollback) {
                    requireUnused(model, version);
                }
                writeLocked(model, version, Disk.size(from), to -> copyTree(from, to));
            }
            keys.verify(versionDir(model, version));
            return activate(model, version, (explicitRollback ? "explicit rollback import" : "import") + " of "
                    + source + " signed by " + signer);
        } catch (StoreException | IOException | IllegalStateException e) {
            String reason = e instanceof IOException ? "cannot read: " + e : e.getMessage();
            Journal journal = model != null ? journal(model) : new Journal(root.resolve("journal.jsonl"), clock);
            try {
                journal.append("rejected", "source", source.toString(), "reason", reason);
            } catch (StoreException | UncheckedIOException unrecorded) {
                // A full disk refuses the journal line too; the refusal itself must still reach the caller.
                Logger.warn("model store: import refusal not journaled: {}", unrecorded.getMessage());
            }
            throw new ImportRefusedException(source.toString(), reason);
        } finally {
            if (staging != null) {
                try {
                    DurableFiles.deleteTree(staging);
                } catch (IOException e) {
                    // Left for open() to remove; the import's own outcome is what the caller needs.
                }
            }
        }
    }

    /**
     * The version an import must be above: the highest number the store used (stored, quarantined,
     * pruned), or the active bundle's manifest version.
     */
    private int currentVersion(String model) {
        int current = highWater(model);
        if (Files.isDirectory(modelDir(model))) {
            try {
                current = Math.max(current, ModelBundle.open(activeDir(model)).manifest().version());
            } catch (RuntimeException e) {
                // No readable active bundle: the stored versions alone say what is current.
            }
        }
        return current;
    }

    static final int MAX_ARCHIVE_ENTRIES = 20_000;
    static final long MAX_ARCHIVE_BYTES = 1L << 30;

    private static Path unzip(Path archive, Path staging) throws IOException {
        Files.createDirectories(staging);
        int count = 0;
        long written = 0;
        byte[] buffer = new byte[64 * 1024];
        try (InputStream raw = Files.newInputStream(archive); ZipInputStream zip = new ZipInputStream(raw)) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                // Bounds against zip bombs: a bundle is a model, a manifest and a few hundred anchors.
                if (++count > MAX_ARCHIVE_ENTRIES) {
                    throw new StoreException("archive has more than " + MAX_ARCHIVE_ENTRIES + " entries");
                }
                Path target = safeChild(staging, e.getName());
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                    continue;
                }
                Files.createDirectories(target.getParent());
                try (var out = Files.newOutputStream(target)) {
                    for (int n = zip.read(buffer); n > 0; n = zip.read(buffer)) {
                        written += n;
                        if (written > MAX_ARCHIVE_BYTES) {
                            throw new StoreException("archive unpacks to more than " + (MAX_ARCHIVE_BYTES >> 20) + " MiB");
                        }
                        out.write(buffer, 0, n);
                    }
                }
            }
        }
        // An archive of one top-level directory holds the bundle inside it.
        if (!Files.exists(staging.resolve(ModelBundle.MANIFEST_FILE))) {
            try (Stream<Path> entries = Files.list(staging)) {
                List<Path> all = entries.toList();
                if (all.size() == 1 && Files.isDirectory(all.get(0))) {
                    return all.get(0);
                }
            }
        }
        return staging;
    }

    /** {@code dir/name}, refusing absolute names, {@code ..} and anything resolving outside {@code dir}. */
    static Path safeChild(Path dir, String name) {
        if (name.isEmpty() || name.startsWith("/") || name.startsWith("\\") || name.matches("^[A-Za-z]:.*")) {
            throw new StoreException("unsafe path '" + name + "': absolute");
        }
        for (String part : name.split("[/\\\\]")) {
            if (part.equals("..")) {
                throw new StoreException("unsafe path '" + name + "': contains ..");
            }
        }
        Path child = dir.resolve(name).normalize();
        if (!child.startsWith(dir.normalize())) {
            throw new StoreException("unsafe path '" + name + "': escapes the bundle");
        }
        return child;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                if (Files.isSymbolicLink(p)) {
                    throw new StoreException("symbolic link " + Hashes.relative(from, p) + ": bundles hold plain files only");
                }
                String rel = Hashes.relative(from, p);
                if (rel.isEmpty() || rel.equals(Hashes.FILE)) {
                    continue;
                }
                Path target = safeChild(to, rel);
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
    }

    /**
     * Deletes stored versions older than the active one beyond the last {@code keepLast}, never
     * the active one, its rollback target or the newest kept version below it; versions newer than
     * the active one are candidates and stay. Each deletion is a rename first, so a crash
     * never leaves a half-deleted version under a version name.
     */
    public List<Integer> retain(String model) {
        return locked(() -> retainLocked(model));
    }

    private List<Integer> retainLocked(String model) {
        List<Integer> versions = versions(model);
        TreeSet<Integer> protectedVersions = new TreeSet<>();
        int active = active(model);
        protectedVersions.add(active);
        rollbackTarget(model).ifPresent(protectedVersions::add);
        kept(model).headSet(active, false).descendingSet().stream().findFirst().ifPresent(protectedVersions::add);
        protectedVersions.addAll(versions.subList(Math.max(0, versions.size() - keepLast), versions.size()));
        List<Integer> deleted = new ArrayList<>();
        try {
            for (int v : versions) {
                if (v > active || protectedVersions.contains(v)) {
                    continue;
                }
                Path doomed = versionsDir(model).resolve(DEL_PREFIX + String.format("%04d", v));
                Files.move(versionDir(model, v), doomed, StandardCopyOption.ATOMIC_MOVE);
                DurableFiles.fsync(versionsDir(model));
                DurableFiles.deleteTree(doomed);
                journal(model).append("pruned", "version", v, "reason", "retention keeps the last " + keepLast
                        + " and " + protectedVersions);
                deleted.add(v);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prune versions of " + model, e);
        }
        return deleted;
    }

    private void quarantine(String model, int version, String reason) throws IOException {
        Path q = modelDir(model).resolve("quarantine");
        Files.createDirectories(q);
        Path target = q.resolve(String.format("%04d", version) + "-" + clock.instant().toString().replace(':', '-'));
        Files.move(versionDir(model, version), target, StandardCopyOption.ATOMIC_MOVE);
        DurableFiles.fsync(versionsDir(model));
        DurableFiles.fsync(q);
        journal(model).append("quarantined", "version", version, "reason", reason,
                "moved_to", modelDir(model).relativize(target).toString());
    }

    private Optional<int[]> readActive(String model) {
        Path file = modelDir(model).resolve("active");
        try {
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            String[] lines = Files.readString(file, StandardCharsets.UTF_8).split("\n");
            int version = Integer.parseInt(lines[0].trim());
            int previous = -1;
            for (int i = 1; i < lines.length; i++) {
                if (lines[i].startsWith("previous=")) {
                    previous = Integer.parseInt(lines[i].substring("previous=".length()).trim());
                }
            }
            return Optional.of(new int[] {version, previous});
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private void writeActive(String model, int version, int previous) {
        DurableFiles.replace(modelDir(model).resolve("active"), version + "\n" + (previous >= 0 && previous != version
                ? "previous=" + previous + "\n" : ""));
    }

    private Journal journal(String model) {
        return new Journal(modelDir(model).resolve("journal.jsonl"), clock);
    }

    private static String checkName(String model) {
        if (model == null || !NAME.matcher(model).matches()) {
            throw new StoreException("model name '" + model + "' is not a safe directory name " + NAME.pattern());
        }
        return model;
    }

    private static void fsyncTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            // Deepest first, so each directory is synced after the entries made in it.
            for (Path p : walk.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList()) {
                DurableFiles.fsync(p);
            }
        }
    }

}
