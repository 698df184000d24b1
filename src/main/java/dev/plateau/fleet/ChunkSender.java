package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sending end of a chunked transfer: answers each {@code need} of a {@link ChunkReceiver} by
 * publishing the chunks it names, read from the file at their place. It keeps no state per
 * receiver, so one sender serves any number of them, and a sender started again (after a crash
 * of the controller) serves the same receivers where they are. Asks for chunks out of range are
 * ignored; the receiver's hashes decide what is good. The same class sends both ways: the
 * operator's bundles to devices, a device's samples to the operator.
 *
 * <p>A sender with a byte rate answers no faster than it, whatever the receiver asks: chunks
 * beyond the allowance are left out, and the receiver asks for them again after its retry
 * interval. That is how a device bounds what a transfer costs it.
 */
public final class ChunkSender implements AutoCloseable {
    /** Publishes one chunk, QoS 1, to {@code topic}. */
    @FunctionalInterface
    public interface Publisher {
        void publish(String topic, byte[] payload);
    }

    private final TransferOffer offer;
    private final FileChannel file;
    private final Publisher publisher;
    private final AtomicLong chunks = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final Optional<Clock> clock;
    private final long bytesPerSecond;
    private double allowance;
    private long last;

    /** A sender paced only by its receivers' own limits (the operator's side: its receivers are the devices). */
    public ChunkSender(TransferOffer offer, Path file, Publisher publisher) {
        this(offer, file, publisher, Optional.empty(), 0);
    }

    /**
     * A sender that publishes at most {@code bytesPerSecond} on average, with bursts of at most
     * one second's worth (and at least one chunk).
     */
    public ChunkSender(TransferOffer offer, Path file, Publisher publisher, long bytesPerSecond, Clock clock) {
        this(offer, file, publisher, Optional.of(clock), bytesPerSecond);
        if (bytesPerSecond < TransferOffer.MIN_CHUNK) {
            close();
            throw new IllegalArgumentException("sender rate: expected at least " + TransferOffer.MIN_CHUNK
                    + " bytes/s, found " + bytesPerSecond);
        }
    }

    private ChunkSender(TransferOffer offer, Path file, Publisher publisher, Optional<Clock> clock,
                        long bytesPerSecond) {
        this.offer = offer;
        this.publisher = publisher;
        this.clock = clock;
        this.bytesPerSecond = bytesPerSecond;
        this.allowance = burst();
        this.last = clock.map(Clock::millis).orElse(0L);
        try {
            this.file = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    public TransferOffer offer() {
        return offer;
    }

    private double burst() {
        return Math.max(bytesPerSecond, offer.chunkSize());
    }

    /**
     * Answers one {@code need} of the transfer whose topics are {@code transfer}: publishes each
     * chunk it wants, as far as the byte rate allows. Not thread-safe: one thread serves a sender.
     */
    public void serve(Topics.Transfer transfer, JsonNode need) {
        if (!offer.id().equals(need.path("id").asText()) || !offer.id().equals(transfer.id())) {
            return;
        }
        clock.ifPresent(c -> {
            long now = c.millis();
            allowance = Math.min(burst(), allowance + Math.max(0, now - last) * bytesPerSecond / 1000.0);
            last = now;
        });
        for (JsonNode w : need.path("want")) {
            if (!w.canConvertToInt()) {
                continue;
            }
            int seq = w.asInt();
            if (seq < 0 || seq >= offer.count()) {
                continue;
            }
            if (clock.isPresent()) {
                if (allowance < offer.length(seq)) {
                    skipped.incrementAndGet();
                    continue;
                }
                allowance -= offer.length(seq);
            }
            publisher.publish(transfer.chunk(seq), read(seq));
            chunks.incrementAndGet();
            bytes.addAndGet(offer.length(seq));
        }
    }

    private byte[] read(int seq) {
        ByteBuffer buffer = ByteBuffer.allocate(offer.length(seq));
        try {
            long at = offer.offset(seq);
            while (buffer.hasRemaining()) {
                int n = file.read(buffer, at + buffer.position());
                if (n < 0) {
                    throw new IOException("file shorter than the offer's " + offer.size() + " bytes");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read chunk " + seq + " of " + offer.id(), e);
        }
        return buffer.array();
    }

    /** Chunks published so far (with repeats). */
    public long chunksSent() {
        return chunks.get();
    }

    public long bytesSent() {
        return bytes.get();
    }

    /** Chunks asked for and left out because the byte rate did not allow them (asked again later). */
    public long chunksDeferred() {
        return skipped.get();
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + offer.id(), e);
        }
    }
}
