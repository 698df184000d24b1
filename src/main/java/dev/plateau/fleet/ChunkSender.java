package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sending end of a chunked transfer: answers each {@code need} of a {@link ChunkReceiver} by
 * publishing the chunks it names, read from the file at their place. It keeps no state per
 * receiver, so one sender serves any number of them, and a sender started again (after a crash
 * of the controller) serves the same receivers where they are. Asks for chunks out of range are
 * ignored; the receiver's hashes decide what is good.
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

    public ChunkSender(TransferOffer offer, Path file, Publisher publisher) {
        this.offer = offer;
        this.publisher = publisher;
        try {
            this.file = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    public TransferOffer offer() {
        return offer;
    }

    /** Answers one {@code need} from the receiver whose topics are {@code receiver}. */
    public void serve(Topics receiver, JsonNode need) {
        if (!offer.id().equals(need.path("id").asText())) {
            return;
        }
        for (JsonNode w : need.path("want")) {
            if (!w.canConvertToInt()) {
                continue;
            }
            int seq = w.asInt();
            if (seq < 0 || seq >= offer.count()) {
                continue;
            }
            publisher.publish(receiver.chunk(offer.id(), seq), read(seq));
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

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + offer.id(), e);
        }
    }
}
