package dev.plateau.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.fleet.ChunkReceiver;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.Topics;
import dev.plateau.fleet.TransferOffer;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.ImportRefusedException;
import dev.plateau.store.ModelStore;
import dev.plateau.store.StoreException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * The fleet's {@code deploy} and {@code cancel} (README "Deploying models"). A deploy announces a
 * signed bundle (.zip) as a {@link TransferOffer}; the device checks the offer, its size and the
 * free disk before the first chunk, then pulls the chunks through a {@link ChunkReceiver} into
 * {@code <state>/deploy/<id>/}. Only a complete file whose SHA-256 matches goes to the store's
 * import, which checks the fleet key's signature and the version, writes the version and
 * activates it; the daemon's slot then checks it before traffic and puts it on probation. Events
 * {@code deploy-progress}, {@code deploy-succeeded}, {@code deploy-failed} and
 * {@code deploy-cancelled} go through the outbox; the retained {@code deploy} topic says where the
 * last deploy is. A transfer cut by a restart or {@code kill -9} goes on at the next start, or
 * fails there when its deadline has passed.
 */
final class Deployments implements AutoCloseable {
    static final String DIR = "deploy";
    /** The largest bundle a device takes: the store unpacks at most 1 GiB, and edge disks are small. */
    static final long MAX_BUNDLE_BYTES = 256L << 20;
    /**
     * Free space a deploy needs, as a multiple of the bundle's size: the received archive, its
     * unpacked copy and the stored version exist at once during the import.
     */
    static final int DISK_FACTOR = 3;
    /** Room left beyond that for the journal, the outbox and samples: 16 MiB. */
    static final long DISK_MARGIN = 16L << 20;
    /**
     * 256 KiB/s, a window of 8 chunks asked again after 3 s: a cellular uplink's worth, a few
     * percent of one core for hashing and writing, so inference keeps its CPU and disk.
     */
    static final ChunkReceiver.Limits LIMITS = new ChunkReceiver.Limits(256 * 1024, 8, Duration.ofSeconds(3));
    static final Duration DEFAULT_DEADLINE = Duration.ofHours(24);
    static final Duration MAX_DEADLINE = Duration.ofDays(7);
    private static final String BUNDLE_FILE = "bundle.zip";
    private static final int PROGRESS_STEPS = 4;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private enum Phase { RECEIVING, IMPORTING }

    /** The deploy in progress: its receiver, or none while importing. */
    private record Current(String id, String cmdId, Phase phase, ChunkReceiver receiver) {}

    private final ModelStore store;
    private final Path root;
    private final Path stateDir;
    private final Map<String, ModelSlot> slots;
    private final Clock clock;
    private final BiConsumer<String, Map<String, Object>> events;
    private final ScheduledExecutorService executor;
    private volatile Fleet fleet;
    private Current current;
    private volatile Map<String, Object> last = Map.of("state", "none");

    Deployments(ModelStore store, Path stateDir, Map<String, ModelSlot> slots, Clock clock,
                BiConsumer<String, Map<String, Object>> events) {
        this.store = store;
        this.stateDir = stateDir;
        this.root = stateDir.resolve(DIR);
        this.slots = slots;
        this.clock = clock;
        this.events = events;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plateau-deploy");
            t.setDaemon(true);
            return t;
        });
    }

    Map<String, CommandHandler> handlers() {
        return Map.of("deploy", this::deploy, "cancel", this::cancel);
    }

    /** The last deploy's state, as the retained {@code deploy} topic has it. */
    Map<String, Object> last() {
        return last;
    }

    /**
     * Listens for chunks on {@code fleet} and goes on with a deploy a restart interrupted: resumed
     * where its file stands, imported when it was complete, failed when its deadline passed.
     */
    void start(Fleet link) {
        this.fleet = link;
        Topics topics = link.topics();
        String prefix = topics.root() + "xfer/";
        link.subscribe(topics.chunks(), m -> {
            String rest = m.topic().substring(prefix.length());
            int slash = rest.indexOf('/');
            String id = rest.substring(0, slash);
            int seq;
            try {
                seq = Integer.parseInt(rest.substring(rest.lastIndexOf('/') + 1));
            } catch (NumberFormatException e) {
                return;
            }
            chunk(id, seq, m.payload());
        });
        link.onConnected(this::publishState);
        try {
            executor.execute(this::recover);
        } catch (RejectedExecutionException e) {
            Logger.debug("deploy: closed before recovery");
        }
    }

    private synchronized void chunk(String id, int seq, byte[] payload) {
        if (current != null && current.id().equals(id) && current.receiver() != null) {
            try {
                current.receiver().accept(seq, payload);
            } catch (RejectedExecutionException e) {
                Logger.debug("deploy {}: chunk {} arrived while closing", id, seq);
            }
        }
    }

    // ---- commands --------------------------------------------------------------------------

    /**
     * {@code deploy {transfer: {id, size, sha256, chunk_size, chunks}, model?, version?, deadline_s?}}.
     * {@code model} and {@code version}, when given, let a downgrade be refused before any chunk
     * moves; the import checks the bundle's own manifest whatever they say.
     */
    private CommandHandler.Work deploy(Command c) throws CommandRejectedException {
        c.allowOnly("transfer", "model", "version", "deadline_s");
        TransferOffer offer;
        try {
            offer = TransferOffer.parse(c.args().get("transfer"));
        } catch (IllegalArgumentException e) {
            throw new CommandRejectedException("transfer: " + e.getMessage());
        }
        if (offer.size() > MAX_BUNDLE_BYTES) {
            throw new CommandRejectedException("transfer.size: " + offer.size() + " bytes, expected at most "
                    + MAX_BUNDLE_BYTES + " (the largest bundle this device takes)");
        }
        Optional<String> model = text(c, "model");
        if (model.isPresent()) {
            List<String> served = slots.values().stream().map(ModelSlot::name).sorted().toList();
            if (!served.contains(model.get())) {
                throw new CommandRejectedException("model: expected one of " + served + ", found '" + model.get() + "'");
            }
        }
        JsonNode v = c.args().get("version");
        if (v != null) {
            if (!v.isIntegralNumber() || v.asInt() < 1) {
                throw new CommandRejectedException("version: expected an integer 1 or more, found " + v);
            }
            if (model.isEmpty()) {
                throw new CommandRejectedException("version: only with model (the version of which model)");
            }
            int now = currentVersion(model.get());
            if (v.asInt() <= now) {
                throw new CommandRejectedException("downgrade: version " + v.asInt() + " of " + model.get()
                        + " is not above the current version " + now);
            }
        }
        Duration deadline = DEFAULT_DEADLINE;
        JsonNode d = c.args().get("deadline_s");
        if (d != null) {
            if (!d.isIntegralNumber() || d.asLong() < 1 || d.asLong() > MAX_DEADLINE.toSeconds()) {
                throw new CommandRejectedException("deadline_s: expected 1.." + MAX_DEADLINE.toSeconds() + ", found " + d);
            }
            deadline = Duration.ofSeconds(d.asLong());
        }
        synchronized (this) {
            if (current != null && !current.id().equals(offer.id())) {
                throw new CommandRejectedException("busy: deploy " + current.id() + " is " + describe(current)
                        + "; cancel it first (cancel deploy=" + current.id() + ") or wait for its end");
            }
            if (current == null) {
                requireSpace(offer.size());
            }
        }
        ObjectNode context = c.args().objectNode();
        context.put("cmdId", c.cmdId());
        model.ifPresent(m -> context.put("model", m));
        if (v != null) {
            context.put("version", v.asInt());
        }
        Instant until = clock.instant().plus(deadline);
        return () -> begin(offer, context, until, c.cmdId());
    }

    private synchronized Map<String, ?> begin(TransferOffer offer, ObjectNode context, Instant until, String cmdId) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("deploy", offer.id());
        if (current != null) {
            // The same deploy again (the operator's controller resumed, say): it goes on as it was.
            result.put("state", current.phase().name().toLowerCase());
            result.put("have", current.receiver() == null ? offer.count() : current.receiver().have());
            result.put("of", offer.count());
            result.put("resumed", true);
            return result;
        }
        Path dir = root.resolve(offer.id());
        try {
            DurableFiles.deleteTree(dir);
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + DIR + "/" + offer.id() + " in the state directory", e);
        }
        ChunkReceiver receiver = ChunkReceiver.start(offer, context, dir, until, LIMITS, clock, executor,
                requester(offer.id()), listener(offer, dir, cmdId));
        current = new Current(offer.id(), cmdId, Phase.RECEIVING, receiver);
        Logger.info("deploy {} ({}): receiving {} bytes in {} chunks, deadline {}", offer.id(), cmdId, offer.size(),
                offer.count(), until);
        result.put("state", "receiving");
        result.put("have", 0);
        result.put("of", offer.count());
        return result;
    }

    /** {@code cancel {deploy?}}: stops the deploy being received (the one named, or the one there is) and discards its chunks. */
    private CommandHandler.Work cancel(Command c) throws CommandRejectedException {
        c.allowOnly("deploy");
        Optional<String> id = text(c, "deploy");
        synchronized (this) {
            List<String> running = current == null ? List.of() : List.of(current.id());
            if (current == null || (id.isPresent() && !id.get().equals(current.id()))) {
                throw new CommandRejectedException("deploy: expected one in progress " + running + ", found "
                        + id.map(s -> "'" + s + "'").orElse("none"));
            }
            if (current.phase() == Phase.IMPORTING) {
                throw new CommandRejectedException("deploy " + current.id() + " is being imported: too late to "
                        + "cancel; roll back once it is active");
            }
        }
        return () -> {
            Current cancelled;
            synchronized (this) {
                cancelled = current;
                if (cancelled == null || cancelled.phase() != Phase.RECEIVING) {
                    throw new IllegalStateException("deploy ended before the cancel ran");
                }
                current = null;
            }
            cancelled.receiver().close();
            int have = cancelled.receiver().have();
            discard(cancelled.id());
            Map<String, Object> body = body(cancelled.id(), cancelled.cmdId());
            body.put("have", have);
            body.put("of", cancelled.receiver().offer().count());
            body.put("by", c.cmdId());
            finished("deploy-cancelled", "cancelled", body);
            return body;
        };
    }

    // ---- the transfer's end ------------------------------------------------------------------

    private ChunkReceiver.Listener listener(TransferOffer offer, Path dir, String cmdId) {
        return new ChunkReceiver.Listener() {
            private int reported = -1;

            @Override
            public void progress(int have, int of) {
                int step = have * PROGRESS_STEPS / of;
                if (step != reported && have < of) {
                    reported = step;
                    Map<String, Object> body = body(offer.id(), cmdId);
                    body.put("have", have);
                    body.put("of", of);
                    body.put("bytes", Math.min(offer.size(), (long) have * offer.chunkSize()));
                    events.accept("deploy-progress", body);
                    state("receiving", body);
                }
            }

            @Override
            public void complete(Path file) {
                Path bundle = dir.resolve(BUNDLE_FILE);
                try {
                    Files.move(file, bundle, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    failed("cannot move the received bundle in place: " + e.getMessage());
                    return;
                }
                install(offer.id(), cmdId, dir);
            }

            @Override
            public void failed(String reason) {
                synchronized (Deployments.this) {
                    if (current == null || !current.id().equals(offer.id())) {
                        return;
                    }
                    current = null;
                }
                discard(offer.id());
                Map<String, Object> body = body(offer.id(), cmdId);
                body.put("reason", reason);
                finished("deploy-failed", "failed", body);
            }
        };
    }

    /** Imports a complete bundle: the store's checks, its version, activation; then the event. Runs on the deploy thread. */
    private void install(String id, String cmdId, Path dir) {
        synchronized (this) {
            current = new Current(id, cmdId, Phase.IMPORTING, null);
        }
        JsonNode context = ChunkReceiver.saved(dir).map(ChunkReceiver.Saved::context).orElse(null);
        Map<String, Object> body = body(id, cmdId);
        String event;
        try {
            ModelStore.Activation a = store.importBundle(dir.resolve(BUNDLE_FILE), ModelStore.trustedKeys(stateDir), false);
            body.put("model", a.model());
            body.put("version", a.version());
            body.put("previous", a.previous());
            event = "deploy-succeeded";
        } catch (ImportRefusedException e) {
            Optional<Integer> done = alreadyActive(context);
            if (done.isPresent()) {
                // Killed after the activation and before the deploy's end was recorded: it is done.
                body.put("model", context.get("model").asText());
                body.put("version", done.get());
                body.put("note", "already active (imported before a restart)");
                event = "deploy-succeeded";
            } else {
                body.put("reason", "import refused: " + e.reason());
                event = "deploy-failed";
            }
        } catch (StoreException | UncheckedIOException e) {
            body.put("reason", "import failed: " + e.getMessage());
            event = "deploy-failed";
        }
        synchronized (this) {
            current = null;
        }
        discard(id);
        Logger.info("deploy {}: {} {}", id, event, body);
        finished(event, event.equals("deploy-succeeded") ? "succeeded" : "failed", body);
    }

    private Optional<Integer> alreadyActive(JsonNode context) {
        if (context == null || !context.has("model") || !context.has("version")) {
            return Optional.empty();
        }
        String model = context.get("model").asText();
        int version = context.get("version").asInt();
        return store.models().contains(model) && store.active(model) == version ? Optional.of(version) : Optional.empty();
    }

    /** At start, on the deploy thread: what an earlier run left under {@code deploy/}. */
    private void recover() {
        List<Path> dirs;
        try (Stream<Path> list = Files.isDirectory(root) ? Files.list(root) : Stream.empty()) {
            dirs = list.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            Logger.error("deploy: cannot list {}: {}", root, e.getMessage());
            return;
        }
        boolean resumed = false;
        for (Path dir : dirs) {
            String id = dir.getFileName().toString();
            Optional<ChunkReceiver.Saved> saved = ChunkReceiver.saved(dir);
            if (saved.isEmpty()) {
                Logger.warn("deploy {}: no readable offer (cut before it was written); removed", id);
                discard(id);
                continue;
            }
            String cmdId = saved.get().context().path("cmdId").asText("");
            Map<String, Object> body = body(id, cmdId);
            if (resumed) {
                body.put("reason", "another deploy was in progress at the restart; one runs at a time");
                discard(id);
                finished("deploy-failed", "failed", body);
                continue;
            }
            resumed = true;
            if (Files.exists(dir.resolve(BUNDLE_FILE))) {
                Logger.info("deploy {}: received completely before the restart; importing", id);
                install(id, cmdId, dir);
                continue;
            }
            if (!clock.instant().isBefore(saved.get().deadline())) {
                body.put("reason", "deadline " + saved.get().deadline() + " passed while the device was down");
                discard(id);
                finished("deploy-failed", "failed", body);
                continue;
            }
            synchronized (this) {
                ChunkReceiver receiver = ChunkReceiver.resume(dir, LIMITS, clock, executor, requester(id),
                        listener(saved.get().offer(), dir, cmdId));
                current = new Current(id, cmdId, Phase.RECEIVING, receiver);
            }
            Logger.info("deploy {}: resuming after a restart", id);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private ChunkReceiver.Requester requester(String id) {
        return payload -> {
            Fleet link = fleet;
            if (link == null || !link.connected()) {
                throw new IllegalStateException("not connected");
            }
            link.publish(link.topics().need(id), payload);
        };
    }

    private void finished(String event, String state, Map<String, Object> body) {
        events.accept(event, body);
        state(state, body);
    }

    /** Records and publishes (retained) where the last deploy is. */
    private void state(String state, Map<String, Object> body) {
        Map<String, Object> view = new LinkedHashMap<>(body);
        view.put("state", state);
        view.put("at", clock.instant().toString());
        last = view;
        publishState();
    }

    private void publishState() {
        Fleet link = fleet;
        if (link == null || !link.connected()) {
            return;
        }
        try {
            if ("none".equals(last.get("state"))) {
                return; // nothing since the start: what the broker retains from before stays
            }
            link.publishRetained(link.topics().deployState(), JSON.writeValueAsBytes(last));
        } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
            Logger.debug("deploy: state not published: {}", e.getMessage());
        }
    }

    private Map<String, Object> body(String id, String cmdId) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("deploy", id);
        body.put("cmdId", cmdId);
        return body;
    }

    private void discard(String id) {
        try {
            DurableFiles.deleteTree(root.resolve(id));
        } catch (IOException e) {
            Logger.warn("deploy {}: cannot remove its staging directory: {}", id, e.getMessage());
        }
    }

    private void requireSpace(long size) throws CommandRejectedException {
        long need = size * DISK_FACTOR + DISK_MARGIN;
        long usable;
        try {
            usable = Files.getFileStore(stateDir).getUsableSpace();
        } catch (IOException e) {
            throw new CommandRejectedException("disk: cannot tell the free space of the state directory ("
                    + e.getMessage() + ")");
        }
        if (usable < need) {
            throw new CommandRejectedException("disk: a bundle of " + size + " bytes needs " + need
                    + " bytes free in the state directory (" + DISK_FACTOR + "x for the archive, its unpacked copy "
                    + "and the stored version, plus " + (DISK_MARGIN >> 20) + " MiB), found " + usable);
        }
    }

    private int currentVersion(String model) {
        int v = store.latest(model).orElse(0);
        for (ModelSlot slot : slots.values()) {
            if (slot.name().equals(model)) {
                v = Math.max(v, slot.engine().manifest().version());
            }
        }
        return v;
    }

    private static String describe(Current c) {
        return c.phase() == Phase.IMPORTING ? "being imported"
                : "receiving (" + c.receiver().have() + " of " + c.receiver().offer().count() + " chunks)";
    }

    private static Optional<String> text(Command c, String arg) throws CommandRejectedException {
        JsonNode v = c.args().get(arg);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw new CommandRejectedException(arg + ": expected a string, found " + v.getNodeType().toString()
                    .toLowerCase());
        }
        return Optional.of(v.asText());
    }

    @Override
    public void close() {
        synchronized (this) {
            if (current != null && current.receiver() != null) {
                current.receiver().close();
            }
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
