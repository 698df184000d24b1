package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.testing.ManualClock;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The receiving end of a chunked transfer against what a broken or hostile sender does. */
class ChunkReceiverTest {
    private static final int CHUNK = TransferOffer.MIN_CHUNK;
    private static final ChunkReceiver.Limits FAST = new ChunkReceiver.Limits(1 << 30, 64, Duration.ofSeconds(3));

    @TempDir
    Path tmp;

    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    private final ManualClock clock = new ManualClock();
    private final List<JsonNode> needs = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Path> complete = new CompletableFuture<>();
    private final CompletableFuture<String> failed = new CompletableFuture<>();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private final ChunkReceiver.Listener listener = new ChunkReceiver.Listener() {
        @Override
        public void progress(int have, int of) {}

        @Override
        public void complete(Path file) {
            complete.complete(file);
        }

        @Override
        public void failed(String reason) {
            failed.complete(reason);
        }
    };

    private byte[] data(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private TransferOffer offer(byte[] data) throws Exception {
        Path file = Files.write(tmp.resolve("source.bin"), data);
        return TransferOffer.of(file, "t", CHUNK);
    }

    private ChunkReceiver start(TransferOffer offer, Instant deadline) {
        return ChunkReceiver.start(offer, Json.MAPPER.createObjectNode(), tmp.resolve("recv"), deadline, FAST, clock,
                executor, payload -> {
                    try {
                        needs.add(Json.MAPPER.readTree(payload));
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                }, listener);
    }

    private static byte[] chunk(byte[] data, TransferOffer offer, int seq) {
        byte[] c = new byte[offer.length(seq)];
        System.arraycopy(data, (int) offer.offset(seq), c, 0, c.length);
        return c;
    }

    @Test
    void chunks_outOfOrderAndDuplicated_giveTheWholeFileOnce() throws Exception {
        byte[] data = data(10 * CHUNK + 123);
        TransferOffer offer = offer(data);
        ChunkReceiver r = start(offer, clock.instant().plusSeconds(60));
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < offer.count(); i++) {
            order.add(i);
            order.add(i);
        }
        Collections.shuffle(order, new Random(7));
        for (int seq : order) {
            r.accept(seq, chunk(data, offer, seq));
        }
        Path file = complete.get(10, TimeUnit.SECONDS);
        assertArrayEquals(data, Files.readAllBytes(file));
        assertEquals(offer.count(), r.have());
        assertTrue(!failed.isDone());
    }

    @Test
    void chunks_wrongHashWrongLengthUnknownNumber_refusedAndAskedAgain() throws Exception {
        byte[] data = data(3 * CHUNK);
        TransferOffer offer = offer(data);
        ChunkReceiver r = start(offer, clock.instant().plusSeconds(60));
        byte[] tampered = chunk(data, offer, 1);
        tampered[5] ^= 1;
        r.accept(1, tampered);
        r.accept(0, new byte[CHUNK + 1]);
        r.accept(7, chunk(data, offer, 0));
        r.accept(0, chunk(data, offer, 0));
        r.accept(2, chunk(data, offer, 2));
        executor.submit(() -> { }).get();
        assertEquals(2, r.have(), "only the two good chunks count");
        clock.advance(Duration.ofSeconds(4));
        Thread.sleep(2 * ChunkReceiver.TICK.toMillis());
        assertTrue(needs.stream().skip(1).anyMatch(n -> n.get("want").toString().equals("[1]")), needs.toString());
        r.accept(1, chunk(data, offer, 1));
        assertArrayEquals(data, Files.readAllBytes(complete.get(10, TimeUnit.SECONDS)));
    }

    @Test
    void chunks_manyTampered_failTheTransferNamingTheLast() throws Exception {
        byte[] data = data(2 * CHUNK);
        TransferOffer offer = offer(data);
        ChunkReceiver r = start(offer, clock.instant().plusSeconds(60));
        for (int i = 0; i <= ChunkReceiver.MAX_BAD_CHUNKS; i++) {
            r.accept(0, new byte[CHUNK]);
        }
        String reason = failed.get(10, TimeUnit.SECONDS);
        assertTrue(reason.startsWith("17 chunks refused, more than the 16 tolerated; the last: chunk 0: SHA-256 "),
                reason);
        assertTrue(!complete.isDone());
        assertTrue(Files.notExists(tmp.resolve("recv").resolve(ChunkReceiver.DATA_FILE)));
    }

    @Test
    void transfer_stalledPastDeadline_failsSayingHowFarItGot() throws Exception {
        byte[] data = data(4 * CHUNK);
        TransferOffer offer = offer(data);
        ChunkReceiver r = start(offer, clock.instant().plusSeconds(30));
        r.accept(0, chunk(data, offer, 0));
        clock.advance(Duration.ofSeconds(31));
        String reason = failed.get(10, TimeUnit.SECONDS);
        assertTrue(reason.matches("deadline .* passed with 1 of 4 chunks received"), reason);
    }

    @Test
    void resume_afterCrash_keepsTheWholeChunksOnDiskAndAsksForTheRest() throws Exception {
        byte[] data = data(6 * CHUNK);
        TransferOffer offer = offer(data);
        ChunkReceiver first = start(offer, clock.instant().plusSeconds(60));
        for (int seq : new int[] {0, 2, 3}) {
            first.accept(seq, chunk(data, offer, seq));
        }
        executor.submit(() -> { }).get();
        first.close();
        executor.submit(() -> { }).get();
        // A torn write: chunk 3's place half overwritten, as a power cut mid-write leaves it.
        try (RandomAccessFile f = new RandomAccessFile(tmp.resolve("recv/data.part").toFile(), "rw")) {
            f.seek(offer.offset(3) + 100);
            f.write(new byte[500]);
        }
        needs.clear();
        ChunkReceiver again = ChunkReceiver.resume(tmp.resolve("recv"), FAST, clock, executor, payload -> {
            try {
                needs.add(Json.MAPPER.readTree(payload));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }, listener);
        executor.submit(() -> { }).get();
        assertEquals(2, again.have(), "chunks 0 and 2 whole, 3 torn");
        clock.advance(Duration.ofSeconds(1));
        // What the resumed receiver asks for, over however many requests its ticks made (a tick may
        // run before the clock moved, with room for one chunk only, as seen under load).
        List<Integer> wanted = new ArrayList<>();
        long until = System.nanoTime() + 10_000_000_000L;
        while (wanted.size() < 4 && System.nanoTime() < until) {
            Thread.sleep(ChunkReceiver.TICK.toMillis());
            wanted.clear();
            for (JsonNode need : List.copyOf(needs)) {
                need.get("want").forEach(n -> wanted.add(n.asInt()));
            }
        }
        assertEquals(List.of(1, 3, 4, 5), wanted, "asked for the missing and the torn chunks, each once, in order");
        for (int seq : new int[] {1, 3, 4, 5}) {
            again.accept(seq, chunk(data, offer, seq));
        }
        assertArrayEquals(data, Files.readAllBytes(complete.get(10, TimeUnit.SECONDS)));
    }

    @Test
    void offer_whoseChunksContradictTheWholeHash_isNeverCompleted() throws Exception {
        byte[] data = data(2 * CHUNK);
        TransferOffer honest = offer(data);
        TransferOffer lying = new TransferOffer(honest.id(), honest.size(), "0".repeat(64), CHUNK, honest.chunks());
        ChunkReceiver r = start(lying, clock.instant().plusSeconds(60));
        r.accept(0, chunk(data, honest, 0));
        r.accept(1, chunk(data, honest, 1));
        String reason = failed.get(10, TimeUnit.SECONDS);
        assertTrue(reason.startsWith("sha256 of the whole " + honest.sha256() + " is not the announced 0000"), reason);
        assertTrue(Files.notExists(tmp.resolve("recv").resolve(ChunkReceiver.DATA_FILE)));
    }

    @Test
    void rate_boundsWhatIsAskedForPerSecond() throws Exception {
        byte[] data = data(40 * CHUNK);
        TransferOffer offer = offer(data);
        ChunkReceiver.Limits slow = new ChunkReceiver.Limits(2L * CHUNK, 64, Duration.ofSeconds(600));
        ChunkReceiver.start(offer, Json.MAPPER.createObjectNode(), tmp.resolve("recv"), clock.instant().plusSeconds(600),
                slow, clock, executor, payload -> {
                    try {
                        needs.add(Json.MAPPER.readTree(payload));
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                }, listener);
        for (int s = 0; s < 10; s++) {
            Thread.sleep(ChunkReceiver.TICK.toMillis() + 50);
            clock.advance(Duration.ofSeconds(1));
        }
        Thread.sleep(ChunkReceiver.TICK.toMillis() + 50);
        int asked = needs.stream().mapToInt(n -> n.get("want").size()).sum();
        // One chunk's allowance at the start, then two chunks a second over ten seconds.
        assertTrue(asked >= 19 && asked <= 21, "asked for " + asked + " chunks in 10 s at 2 a second");
    }

    @Test
    void offer_badFields_refusedNamingEachWithWhatIsAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TransferOffer.parse(
                Json.MAPPER.readTree("{\"id\":\"a/b\",\"size\":10,\"sha256\":\"x\",\"chunk_size\":10,\"chunks\":[]}")));
        assertEquals("id: expected [A-Za-z0-9._-], 1-64 characters, found 'a/b'; sha256: expected 64 lower-case hex "
                + "digits, found 'x'; chunk_size: expected 4096..1048576 bytes, found 10", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TransferOffer("t", 10_000, "a".repeat(64), CHUNK,
                List.of("a".repeat(64))));
        assertEquals("chunks: expected 3 hashes for 10000 bytes in chunks of 4096, found 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TransferOffer("t", 600L * CHUNK, "a".repeat(64),
                CHUNK, List.of()));
        assertTrue(e.getMessage().contains("make 600 chunks, expected at most 512"), e.getMessage());
    }
}
