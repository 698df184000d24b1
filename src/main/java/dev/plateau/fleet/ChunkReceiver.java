package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The receiving end of a chunked transfer (README "Chunked transfers"): pulls the chunks of a
 * {@link TransferOffer} from the sender, a window at a time and no faster than its byte rate,
 * checks each against its hash, and writes it at its place in {@code dir/data.part}. When every
 * chunk is in and the whole matches the offer's SHA-256, the file is renamed to
 * {@code dir/data} and the listener hears of it once.
 *
 * <p>What it has is what the file holds: {@link #open} hashes every chunk's place in an existing
 * {@code data.part}, so a transfer cut by a reconnect, a restart or {@code kill -9} goes on with
 * the chunks that reached the disk whole, and nothing needs an fsync per chunk. The offer, its
 * deadline and the caller's context are kept in {@code dir/offer.json}.
 *
 * <p>All work runs on the given executor; {@link #accept} may be called from any thread.
 */
public final class ChunkReceiver implements AutoCloseable {
    /** Written when the transfer starts, so a restart knows what it was receiving. */
    public static final String OFFER_FILE = "offer.json";
    public static final String PART_FILE = "data.part";
    public static final String DATA_FILE = "data";
    /** How often the receiver asks again and looks at its deadline. */
    static final Duration TICK = Duration.ofMillis(200);
    /** Chunks with a wrong hash, wrong length or unknown number tolerated (each asked for again) before the transfer fails. */
    static final int MAX_BAD_CHUNKS = 16;

    /**
     * @param bytesPerSecond the most this receiver asks for a second, so a transfer leaves the
     *                       device's CPU, disk and link to its real work
     * @param window         chunks asked for and not yet received, at most
     * @param retry          a chunk asked for and not received within it is asked for again
     */
    public record Limits(long bytesPerSecond, int window, Duration retry) {
        public Limits {
            if (bytesPerSecond < TransferOffer.MIN_CHUNK || window < 1 || window > 64 || retry.isNegative()
                    || retry.isZero()) {
                throw new IllegalArgumentException("transfer limits: expected bytes_per_s >= "
                        + TransferOffer.MIN_CHUNK + ", window 1..64, retry > 0, found " + bytesPerSecond + ", "
                        + window + ", " + retry);
            }
        }
    }

    /** What the receiver tells its owner; called on the receiver's executor. */
    public interface Listener {
        /** {@code have} of {@code of} chunks are on disk. */
        void progress(int have, int of);

        /** Every chunk is in and the whole matches: {@code file} holds it. */
        void complete(Path file);

        /** The transfer ended without the file; {@code reason} says why. The directory is left to the owner. */
        void failed(String reason);
    }

    /** Sends a request for chunks to the sender: QoS 1, on the transfer's {@code need} topic. */
    @FunctionalInterface
    public interface Requester {
        void request(byte[] payload);
    }

    private enum State { RECEIVING, DONE, FAILED, CLOSED }

    private final TransferOffer offer;
    private final Path dir;
    private final Instant deadline;
    private final Limits limits;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private final Requester requester;
    private final Listener listener;
    private final BitSet have;
    /** When each outstanding chunk was last asked for. */
    private final Map<Integer, Instant> asked = new LinkedHashMap<>();
    private FileChannel channel;
    private State state = State.RECEIVING;
    private double allowance;
    private Instant lastTick;
    private int bad;
    private long duplicates;
    private ScheduledFuture<?> ticker;

    private ChunkReceiver(TransferOffer offer, Path dir, Instant deadline, Limits limits, Clock clock,
                          ScheduledExecutorService executor, Requester requester, Listener listener, BitSet have) {
        this.offer = offer;
        this.dir = dir;
        this.deadline = deadline;
        this.limits = limits;
        this.clock = clock;
        this.executor = executor;
        this.requester = requester;
        this.listener = listener;
        this.have = have;
        this.lastTick = clock.instant();
        this.allowance = offer.chunkSize();
    }

    /**
     * Starts a new transfer into the empty (or missing) {@code dir}: writes the offer, its deadline
     * and {@code context} durably, then begins asking for chunks.
     */
    public static ChunkReceiver start(TransferOffer offer, JsonNode context, Path dir, Instant deadline, Limits limits,
                                      Clock clock, ScheduledExecutorService executor, Requester requester,
                                      Listener listener) {
        ObjectNode saved = Json.MAPPER.createObjectNode();
        saved.set("offer", offer.toJson());
        saved.put("deadline", deadline.toString());
        saved.set("context", context);
        DurableFiles.replace(dir.resolve(OFFER_FILE), Json.bytes(saved));
        return resume(dir, limits, clock, executor, requester, listener);
    }

    /** A transfer saved under {@code dir} by {@link #start}: its offer, deadline and context. */
    public record Saved(TransferOffer offer, Instant deadline, JsonNode context) {}

    /** Reads {@code dir/offer.json}; empty when it is missing or unreadable (a start cut before it was written). */
    public static Optional<Saved> saved(Path dir) {
        try {
            JsonNode node = Json.MAPPER.readTree(dir.resolve(OFFER_FILE).toFile());
            return Optional.of(new Saved(TransferOffer.parse(node.get("offer")), Instant.parse(node.path("deadline")
                    .asText()), node.path("context")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Goes on with the transfer saved under {@code dir}: the chunks whose bytes are already in
     * place count as received, the others are asked for. A transfer whose {@code data} file is
     * complete is reported complete at once.
     */
    public static ChunkReceiver resume(Path dir, Limits limits, Clock clock, ScheduledExecutorService executor,
                                       Requester requester, Listener listener) {
        Saved saved = saved(dir).orElseThrow(() -> new IllegalStateException("no readable " + OFFER_FILE + " in "
                + dir));
        BitSet have = new BitSet(saved.offer().count());
        ChunkReceiver r = new ChunkReceiver(saved.offer(), dir, saved.deadline(), limits, clock, executor, requester,
                listener, have);
        executor.execute(r::begin);
        return r;
    }

    public TransferOffer offer() {
        return offer;
    }

    public Instant deadline() {
        return deadline;
    }

    /** Chunks on disk now; read from any thread, so a snapshot. */
    public synchronized int have() {
        return have.cardinality();
    }

    /** Hands in one chunk as it came off the wire; checked and written on the receiver's executor. */
    public void accept(int seq, byte[] payload) {
        executor.execute(() -> onChunk(seq, payload));
    }

    private void begin() {
        try {
            Path data = dir.resolve(DATA_FILE);
            if (Files.exists(data)) {
                synchronized (this) {
                    have.set(0, offer.count());
                }
                state = State.DONE;
                listener.complete(data);
                return;
            }
            channel = FileChannel.open(dir.resolve(PART_FILE), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            int found = scan();
            if (found > 0) {
                Logger.info("transfer {}: resuming with {} of {} chunks on disk", offer.id(), found, offer.count());
            }
            listener.progress(found, offer.count());
            if (found == offer.count()) {
                finish();
                return;
            }
            ticker = executor.scheduleWithFixedDelay(this::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException | UncheckedIOException e) {
            fail("cannot write the transfer under the state directory: " + e.getMessage());
        }
    }

    /** Which chunks the part file holds whole, by their hashes. */
    private int scan() throws IOException {
        long length = channel.size();
        ByteBuffer buffer = ByteBuffer.allocate(offer.chunkSize());
        for (int seq = 0; seq < offer.count(); seq++) {
            if (offer.offset(seq) + offer.length(seq) > length) {
                break;
            }
            buffer.clear().limit(offer.length(seq));
            channel.read(buffer, offer.offset(seq));
            if (TransferOffer.hex(buffer.array(), 0, offer.length(seq)).equals(offer.chunks().get(seq))) {
                synchronized (this) {
                    have.set(seq);
                }
            }
        }
        return have();
    }

    private void onChunk(int seq, byte[] payload) {
        if (state != State.RECEIVING) {
            duplicates++;
            return;
        }
        if (seq < 0 || seq >= offer.count()) {
            bad("chunk " + seq + ": expected a number in 0.." + (offer.count() - 1));
            return;
        }
        if (have.get(seq)) {
            duplicates++;
            return;
        }
        if (payload.length != offer.length(seq)) {
            bad("chunk " + seq + ": expected " + offer.length(seq) + " bytes, found " + payload.length);
            return;
        }
        String hash = TransferOffer.hex(payload, 0, payload.length);
        if (!hash.equals(offer.chunks().get(seq))) {
            bad("chunk " + seq + ": SHA-256 " + hash + " is not the announced " + offer.chunks().get(seq));
            return;
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(payload);
            long at = offer.offset(seq);
            while (b.hasRemaining()) {
                at += channel.write(b, at);
            }
        } catch (IOException e) {
            fail("cannot write chunk " + seq + " under the state directory: " + e.getMessage());
            return;
        }
        int before;
        synchronized (this) {
            before = have.cardinality();
            have.set(seq);
        }
        asked.remove(seq);
        listener.progress(before + 1, offer.count());
        if (before + 1 == offer.count()) {
            finish();
        } else {
            tick();
        }
    }

    private void bad(String reason) {
        bad++;
        Logger.warn("transfer {}: {} (bad chunk {} of at most {})", offer.id(), reason, bad, MAX_BAD_CHUNKS);
        if (bad > MAX_BAD_CHUNKS) {
            fail(bad + " chunks refused, more than the " + MAX_BAD_CHUNKS + " tolerated; the last: " + reason);
        }
    }

    /** Every chunk is in: sync, check the whole, and rename the part file to its final name. */
    private void finish() {
        if (ticker != null) {
            ticker.cancel(false);
        }
        try {
            channel.truncate(offer.size());
            channel.force(true);
            channel.close();
            Path part = dir.resolve(PART_FILE);
            String whole = wholeHash(part);
            if (!whole.equals(offer.sha256())) {
                fail("sha256 of the whole " + whole + " is not the announced " + offer.sha256()
                        + " (every chunk matched its own hash: the offer contradicts itself)");
                return;
            }
            Files.move(part, dir.resolve(DATA_FILE), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            fail("cannot complete the transfer under the state directory: " + e.getMessage());
            return;
        }
        state = State.DONE;
        Logger.info("transfer {}: {} bytes in {} chunks complete ({} duplicates ignored, {} refused)", offer.id(),
                offer.size(), offer.count(), duplicates, bad);
        listener.complete(dir.resolve(DATA_FILE));
    }

    private static String wholeHash(Path file) throws IOException {
        MessageDigest d = TransferOffer.digest();
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                d.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    /**
     * Looks at the deadline, then asks for what is due: chunks asked for too long ago again, and
     * new ones while the window has room and the byte rate allows.
     */
    private void tick() {
        if (state != State.RECEIVING) {
            return;
        }
        Instant now = clock.instant();
        if (!now.isBefore(deadline)) {
            fail("deadline " + deadline + " passed with " + have() + " of " + offer.count() + " chunks received");
            return;
        }
        double seconds = Math.max(0, Duration.between(lastTick, now).toNanos() / 1e9);
        lastTick = now;
        allowance = Math.min((double) limits.window() * offer.chunkSize(),
                allowance + seconds * limits.bytesPerSecond());
        ArrayNode want = Json.MAPPER.createArrayNode();
        for (Map.Entry<Integer, Instant> e : asked.entrySet()) {
            if (!now.isBefore(e.getValue().plus(limits.retry()))) {
                e.setValue(now);
                want.add(e.getKey());
            }
        }
        for (int seq = have.nextClearBit(0); seq < offer.count() && asked.size() < limits.window();
             seq = have.nextClearBit(seq + 1)) {
            if (asked.containsKey(seq)) {
                continue;
            }
            if (allowance < offer.length(seq)) {
                break;
            }
            allowance -= offer.length(seq);
            asked.put(seq, now);
            want.add(seq);
        }
        if (want.isEmpty()) {
            return;
        }
        ObjectNode need = Json.envelope(clock);
        need.put("id", offer.id());
        need.put("have", have());
        need.put("of", offer.count());
        need.set("want", want);
        try {
            requester.request(Json.bytes(need));
        } catch (RuntimeException e) {
            // Not connected, say: the asks stay outstanding and are repeated after the retry interval.
            Logger.debug("transfer {}: request not sent: {}", offer.id(), e.getMessage());
        }
    }

    private void fail(String reason) {
        if (state != State.RECEIVING) {
            return;
        }
        state = State.FAILED;
        stop();
        Logger.warn("transfer {} failed: {}", offer.id(), reason);
        listener.failed(reason);
    }

    private void stop() {
        if (ticker != null) {
            ticker.cancel(false);
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                Logger.debug("transfer {}: closing the part file: {}", offer.id(), e.getMessage());
            }
        }
    }

    /** Stops asking and closes the file; the directory stays (a later {@link #resume} goes on). Idempotent. */
    @Override
    public void close() {
        executor.execute(() -> {
            if (state == State.RECEIVING) {
                state = State.CLOSED;
                stop();
            }
        });
    }
}
