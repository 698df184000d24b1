package dev.plateau.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.fleet.ChunkSender;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.fleet.Fleet;
import dev.plateau.fleet.Topics;
import dev.plateau.fleet.TransferOffer;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.SampleStore;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.tinylog.Logger;

/**
 * The fleet's {@code samples}: kept samples to the operator, in the chunked transfer that brings
 * bundles to the device, the other way round. The command selects samples of a model (newest
 * first; drifted ones only, unlabelled ones only, at most {@code limit}), writes them with a
 * {@code samples.jsonl} index into one ZIP archive under {@code <state>/outgoing/<id>/}, and
 * answers with its {@link TransferOffer}; the operator's {@code ChunkReceiver} then pulls the
 * chunks on {@code xfer-out/<id>/need}, and a {@link ChunkSender} here answers no faster than
 * {@link #BYTES_PER_SECOND}, on a thread of its own. An archive stays for {@link #KEEP}, across
 * restarts, so a pull cut short goes on with {@code resume}; at most {@link #MAX_KEPT} are kept.
 */
final class SampleTransfers implements AutoCloseable {
    static final String DIR = "outgoing";
    /** The most samples one request takes: a few minutes of a camera, a labelling session's worth. */
    static final int MAX_SAMPLES = 1000;
    static final int DEFAULT_LIMIT = 200;
    /**
     * The largest archive: 16 MiB is 512 chunks of 32 KiB, an offer that fits in one reply, and
     * about a minute at the sender's rate.
     */
    static final long MAX_BYTES = 16L << 20;
    /** 256 KiB/s, as for deploys: a cellular uplink's worth, a few percent of a core for reading and hashing. */
    static final long BYTES_PER_SECOND = 256 * 1024;
    /** How long an archive waits for its operator: a pull interrupted over lunch still resumes. */
    static final Duration KEEP = Duration.ofHours(1);
    /** Archives kept at once; a new one beyond it removes the oldest. */
    static final int MAX_KEPT = 4;
    /** Room left beside an archive for the journal, the outbox and samples: 16 MiB. */
    static final long DISK_MARGIN = 16L << 20;
    static final String INDEX = "samples.jsonl";
    /** A sample's share of the archive beside its input: its index line and ZIP headers, well under 512 bytes. */
    private static final long ENTRY_BYTES = 512;
    private static final String ARCHIVE = "samples.zip";
    private static final String OFFER = "offer.json";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An archive on disk: its offer, until when it is kept, what it holds. */
    private record Outgoing(TransferOffer offer, Instant until, String model, int samples, boolean drifted) {
        ObjectNode toJson() {
            ObjectNode n = JSON.createObjectNode();
            n.set("offer", offer.toJson());
            n.put("until", until.toString());
            n.put("model", model);
            n.put("samples", samples);
            n.put("drifted", drifted);
            return n;
        }

        static Outgoing read(Path file) throws IOException {
            JsonNode n = JSON.readTree(file.toFile());
            return new Outgoing(TransferOffer.parse(n.get("offer")), Instant.parse(n.path("until").asText()),
                    n.path("model").asText(), n.path("samples").asInt(), n.path("drifted").asBoolean());
        }

        Map<String, Object> result() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", model);
            out.put("samples", samples);
            out.put("drifted", drifted);
            out.put("bytes", offer.size());
            out.put("until", until.toString());
            out.put("transfer", JSON.convertValue(offer.toJson(), Map.class));
            return out;
        }
    }

    private final Optional<SampleStore> store;
    private final Map<String, ModelSlot> slots;
    private final Path root;
    private final Clock clock;
    private final BiConsumer<String, Map<String, Object>> events;
    private final ScheduledExecutorService executor;
    /** Senders of archives asked for since the start, by transfer id; on the executor's thread only. */
    private final Map<String, ChunkSender> senders = new HashMap<>();
    private volatile Fleet fleet;

    SampleTransfers(Optional<SampleStore> store, Map<String, ModelSlot> slots, Path stateDir, Clock clock,
                    BiConsumer<String, Map<String, Object>> events) {
        this.store = store;
        this.slots = slots;
        this.root = stateDir.resolve(DIR);
        this.clock = clock;
        this.events = events;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plateau-samples-out");
            t.setDaemon(true);
            return t;
        });
    }

    Map<String, CommandHandler> handlers() {
        return Map.of("samples", this::samples);
    }

    /** Answers operators' asks for chunks on {@code link}, and removes archives kept past their time now and then. */
    void start(Fleet link) {
        this.fleet = link;
        String prefix = link.topics().root() + "xfer-out/";
        link.subscribe(link.topics().fromNodeNeeds(), m -> {
            String rest = m.topic().substring(prefix.length());
            String id = rest.substring(0, rest.indexOf('/'));
            byte[] payload = m.payload();
            try {
                // Never on the link's thread: reading and hashing chunks is the sender's work.
                executor.execute(() -> need(id, payload));
            } catch (RejectedExecutionException e) {
                Logger.debug("samples: an ask for {} arrived while closing", id);
            }
        });
        executor.scheduleWithFixedDelay(this::expire, 0, 10, TimeUnit.MINUTES);
    }

    // ---- the command ---------------------------------------------------------------------------

    /** {@code samples {model, drifted?, unlabelled?, limit?}} or {@code samples {model, resume: ID}}. */
    private CommandHandler.Work samples(Command c) throws CommandRejectedException {
        c.allowOnly("model", "drifted", "unlabelled", "limit", "resume");
        SampleStore samples = store.orElseThrow(() -> new CommandRejectedException(
                "samples: the sample store is disabled on this device (samples.enabled=false)"));
        JsonNode m = c.args().get("model");
        List<String> served = slots.keySet().stream().sorted().toList();
        if (m == null || !m.isTextual() || !served.contains(m.asText())) {
            throw new CommandRejectedException("model: expected one of " + served + ", found " + m);
        }
        // The command names the model as the configuration does; the sample store keeps it under the manifest's name.
        String model = m.asText();
        String stored = slots.get(model).name();
        JsonNode resume = c.args().get("resume");
        if (resume != null) {
            if (c.args().size() > 2) {
                throw new CommandRejectedException("resume: only with model (the transfer's own selection stands)");
            }
            String id = resume.asText();
            if (!resume.isTextual() || !ID.matcher(id).matches()) {
                throw new CommandRejectedException("resume: expected a transfer id, found " + resume);
            }
            Optional<Outgoing> kept = kept(id).filter(o -> o.model().equals(model));
            if (kept.isEmpty()) {
                throw new CommandRejectedException("resume: transfer '" + id + "' of " + model + " is not kept on "
                        + "this device (kept " + KEEP.toMinutes() + " min, at most " + MAX_KEPT + "); ask again "
                        + "without resume");
            }
            return () -> kept.get().result();
        }
        boolean drifted = flag(c, "drifted");
        boolean unlabelled = flag(c, "unlabelled");
        int limit = DEFAULT_LIMIT;
        JsonNode l = c.args().get("limit");
        if (l != null) {
            if (!l.isIntegralNumber() || l.asLong() < 1 || l.asLong() > MAX_SAMPLES) {
                throw new CommandRejectedException("limit: expected 1.." + MAX_SAMPLES + " samples, found " + l);
            }
            limit = l.asInt();
        }
        int n = limit;
        return () -> build(samples, model, stored, drifted, unlabelled, n, c.cmdId());
    }

    private static boolean flag(Command c, String arg) throws CommandRejectedException {
        JsonNode v = c.args().get(arg);
        if (v == null) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new CommandRejectedException(arg + ": expected true or false, found " + v);
        }
        return v.asBoolean();
    }

    /** Writes the archive of the selection and offers it. On the command thread. */
    private Map<String, ?> build(SampleStore samples, String model, String stored, boolean drifted,
                                 boolean unlabelled, int limit, String cmdId) throws IOException {
        expire();
        List<SampleStore.Kept> chosen = samples.list(stored, drifted, unlabelled, limit);
        if (chosen.isEmpty()) {
            Map<String, Object> none = new LinkedHashMap<>();
            none.put("model", model);
            none.put("samples", 0);
            none.put("drifted", drifted);
            return none;
        }
        long bytes = 0;
        int fit = 0;
        for (SampleStore.Kept k : chosen) {
            bytes += size(samples.input(stored, k)) + ENTRY_BYTES;
            fit += bytes <= MAX_BYTES ? 1 : 0;
        }
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("limit: the " + chosen.size() + " samples selected hold about " + bytes
                    + " bytes, more than the " + MAX_BYTES + " one transfer carries; ask for at most " + fit);
        }
        requireSpace(bytes);
        Path tmp = root.resolve(".tmp-" + UUID.randomUUID());
        Files.createDirectories(tmp);
        try {
            int written = write(samples, model, stored, chosen, tmp.resolve(ARCHIVE));
            Path archive = tmp.resolve(ARCHIVE);
            TransferOffer offer = TransferOffer.of(archive, "s", TransferOffer.chunkSizeFor(Files.size(archive)));
            Outgoing out = new Outgoing(offer, clock.instant().plus(KEEP), model, written, drifted);
            DurableFiles.replace(tmp.resolve(OFFER), JSON.writeValueAsBytes(out.toJson()));
            Path dir = root.resolve(offer.id());
            if (Files.exists(dir)) {
                // The same selection again: the same bytes under the same id; the one there is stays.
                DurableFiles.deleteTree(tmp);
                DurableFiles.replace(dir.resolve(OFFER), JSON.writeValueAsBytes(out.toJson()));
            } else {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            }
            trim(offer.id());
            Map<String, Object> result = out.result();
            Map<String, Object> event = new LinkedHashMap<>(result);
            event.remove("transfer");
            event.put("transfer_id", offer.id());
            event.put("cmdId", cmdId);
            event.put("unlabelled", unlabelled);
            events.accept("samples-offered", event);
            Logger.info("samples {}: {} sample(s) of {}{} offered, {} bytes in {} chunk(s), kept until {}", offer.id(),
                    written, model, drifted ? " (drifted)" : "", offer.size(), offer.count(), out.until());
            return result;
        } finally {
            DurableFiles.deleteTree(tmp);
        }
    }

    /** The archive: {@code samples.jsonl} first, then each sample's input under its store name. */
    private static int write(SampleStore samples, String model, String stored, List<SampleStore.Kept> chosen,
                             Path archive) throws IOException {
        List<SampleStore.Kept> present = new ArrayList<>();
        StringBuilder index = new StringBuilder();
        for (SampleStore.Kept k : chosen) {
            if (Files.isRegularFile(samples.input(stored, k))) {
                present.add(k);
                index.append(JSON.writeValueAsString(indexLine(model, k))).append('\n');
            }
        }
        try (OutputStream raw = Files.newOutputStream(archive); ZipOutputStream zip = new ZipOutputStream(raw)) {
            ZipEntry entry = new ZipEntry(INDEX);
            entry.setTime(0);
            zip.putNextEntry(entry);
            zip.write(index.toString().getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
            for (SampleStore.Kept k : present) {
                // A fixed time per entry: the same selection makes the same bytes, so the same transfer id.
                ZipEntry e = new ZipEntry(k.file());
                e.setTime(k.at().toEpochMilli());
                zip.putNextEntry(e);
                try {
                    Files.copy(samples.input(stored, k), zip);
                } catch (NoSuchFileException gone) {
                    // Evicted since the listing: an empty entry; the index still names it, the operator skips it.
                    Logger.debug("samples: {} evicted while archived", k.id());
                }
                zip.closeEntry();
            }
        }
        return present.size();
    }

    private static ObjectNode indexLine(String model, SampleStore.Kept k) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", k.id());
        n.put("file", k.file());
        n.put("model", model);
        n.put("version", k.version());
        n.put("source", k.source());
        n.put("original", k.original());
        n.put("at", k.at().toString());
        n.put("predicted", k.predicted());
        n.put("score", k.score());
        n.put("drifted", k.drifted());
        k.label().ifPresentOrElse(l -> n.put("label", l), () -> n.putNull("label"));
        return n;
    }

    // ---- serving chunks --------------------------------------------------------------------------

    /** One ask of an operator for chunks of transfer {@code id}; on the executor. */
    private void need(String id, byte[] payload) {
        try {
            JsonNode ask = JSON.readTree(payload);
            ChunkSender sender = senders.get(id);
            if (sender == null) {
                Optional<Outgoing> kept = ID.matcher(id).matches() ? kept(id) : Optional.empty();
                if (kept.isEmpty()) {
                    return;
                }
                sender = new ChunkSender(kept.get().offer(), root.resolve(id).resolve(ARCHIVE), this::publish,
                        BYTES_PER_SECOND, clock);
                senders.put(id, sender);
            }
            sender.serve(fleet.topics().fromNode(id), ask);
        } catch (IOException | RuntimeException e) {
            // A malformed ask, or the archive gone under us: the operator's receiver asks again or gives up.
            Logger.debug("samples {}: ask not answered: {}", id, e.getMessage());
        }
    }

    private void publish(String topic, byte[] chunk) {
        Fleet link = fleet;
        if (link != null && link.connected()) {
            link.publish(topic, chunk);
        }
    }

    // ---- what is kept ----------------------------------------------------------------------------

    private Optional<Outgoing> kept(String id) {
        Path dir = root.resolve(id);
        try {
            Outgoing o = Outgoing.read(dir.resolve(OFFER));
            if (!o.offer().id().equals(id) || !clock.instant().isBefore(o.until())
                    || !Files.isRegularFile(dir.resolve(ARCHIVE))) {
                return Optional.empty();
            }
            return Optional.of(o);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Removes archives past their time and debris of a build cut short. */
    private void expire() {
        for (Path dir : list()) {
            String name = dir.getFileName().toString();
            if (name.startsWith(".tmp-") || kept(name).isEmpty()) {
                remove(dir);
            }
        }
    }

    /** Keeps the newest {@link #MAX_KEPT} archives, {@code keep} among them. */
    private void trim(String keep) {
        List<Path> dirs = new ArrayList<>(list().stream().filter(d -> !d.getFileName().toString().startsWith(".")
                && !d.getFileName().toString().equals(keep)).toList());
        dirs.sort((a, b) -> until(a).compareTo(until(b)));
        while (dirs.size() > MAX_KEPT - 1) {
            remove(dirs.remove(0));
        }
    }

    private Instant until(Path dir) {
        return kept(dir.getFileName().toString()).map(Outgoing::until).orElse(Instant.EPOCH);
    }

    private List<Path> list() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            Logger.warn("samples: cannot list {}: {}", root, e.getMessage());
            return List.of();
        }
    }

    private void remove(Path dir) {
        try {
            DurableFiles.deleteTree(dir);
        } catch (IOException e) {
            Logger.warn("samples: cannot remove {}: {}", dir, e.getMessage());
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0; // evicted since the listing: left out of the archive
        }
    }

    private void requireSpace(long bytes) throws IOException {
        Files.createDirectories(root);
        long need = 2 * bytes + DISK_MARGIN;
        long usable = Files.getFileStore(root).getUsableSpace();
        if (usable < need) {
            throw new IllegalStateException("disk: an archive of about " + bytes + " bytes needs " + need + " bytes "
                    + "free in the state directory (twice its size, plus " + (DISK_MARGIN >> 20) + " MiB), found "
                    + usable);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                Logger.warn("samples: the sender thread did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        senders.values().forEach(s -> {
            try {
                s.close();
            } catch (UncheckedIOException e) {
                Logger.debug("samples: {}", e.getMessage());
            }
        });
    }
}
