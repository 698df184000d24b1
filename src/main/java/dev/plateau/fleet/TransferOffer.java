package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a chunked transfer moves, announced before the first chunk: the whole file's size and
 * SHA-256, the chunk size, and the SHA-256 of every chunk in order. The receiver checks each chunk
 * against its hash as it arrives and the whole against {@link #sha256} at the end, so an offer
 * carried in a signed command pins every byte.
 *
 * @param id     names the transfer in topics ({@code xfer/{id}/...}); {@code [A-Za-z0-9._-]}, 1-64
 * @param chunks lower-case hex SHA-256 of each chunk, chunk {@code i} covering bytes
 *               {@code [i * chunkSize, min(size, (i + 1) * chunkSize))}
 */
public record TransferOffer(String id, long size, String sha256, int chunkSize, List<String> chunks) {
    /** Smallest chunk: below it the per-message overhead (topic, MQTT header, hash) dominates. */
    public static final int MIN_CHUNK = 4 * 1024;
    /** Largest chunk: a chunk is held in memory whole, on devices with tens of MiB of heap. */
    public static final int MAX_CHUNK = 1024 * 1024;
    /** The most chunks an offer lists: 512 hashes keep a deploy command well under the 64 KiB command limit. */
    public static final int MAX_CHUNKS = 512;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    public TransferOffer {
        List<String> problems = new ArrayList<>();
        if (id == null || !ID.matcher(id).matches()) {
            problems.add("id: expected [A-Za-z0-9._-], 1-64 characters, found " + quoted(id));
        }
        if (size < 1) {
            problems.add("size: expected 1 or more bytes, found " + size);
        }
        if (sha256 == null || !HASH.matcher(sha256).matches()) {
            problems.add("sha256: expected 64 lower-case hex digits, found " + quoted(sha256));
        }
        if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
            problems.add("chunk_size: expected " + MIN_CHUNK + ".." + MAX_CHUNK + " bytes, found " + chunkSize);
        }
        chunks = chunks == null ? List.of() : List.copyOf(chunks);
        if (problems.isEmpty()) {
            long expected = (size + chunkSize - 1) / chunkSize;
            if (expected > MAX_CHUNKS) {
                problems.add("size: " + size + " bytes in chunks of " + chunkSize + " make " + expected
                        + " chunks, expected at most " + MAX_CHUNKS + " (use larger chunks)");
            } else if (chunks.size() != expected) {
                problems.add("chunks: expected " + expected + " hashes for " + size + " bytes in chunks of "
                        + chunkSize + ", found " + chunks.size());
            }
        }
        for (int i = 0; i < chunks.size() && problems.isEmpty(); i++) {
            if (chunks.get(i) == null || !HASH.matcher(chunks.get(i)).matches()) {
                problems.add("chunks[" + i + "]: expected 64 lower-case hex digits");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    /** The offer for {@code file} in chunks of {@code chunkSize}, with the id {@code prefix-<first 16 hex of its SHA-256>}. */
    public static TransferOffer of(Path file, String prefix, int chunkSize) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest whole = digest();
            List<String> chunks = new ArrayList<>();
            byte[] buffer = new byte[chunkSize];
            long size = 0;
            while (true) {
                int n = in.readNBytes(buffer, 0, chunkSize);
                if (n == 0) {
                    break;
                }
                whole.update(buffer, 0, n);
                MessageDigest one = digest();
                one.update(buffer, 0, n);
                chunks.add(HexFormat.of().formatHex(one.digest()));
                size += n;
            }
            String hash = HexFormat.of().formatHex(whole.digest());
            return new TransferOffer(prefix + "-" + hash.substring(0, 16), size, hash, chunkSize, chunks);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The chunk size {@link #of} should use for {@code size} bytes: 32 KiB, or larger so that at most {@link #MAX_CHUNKS} are needed. */
    public static int chunkSizeFor(long size) {
        int chunk = 32 * 1024;
        while ((size + chunk - 1) / chunk > MAX_CHUNKS && chunk < MAX_CHUNK) {
            chunk *= 2;
        }
        return chunk;
    }

    public int count() {
        return chunks.size();
    }

    /** Where chunk {@code seq} starts in the file. */
    public long offset(int seq) {
        return (long) seq * chunkSize;
    }

    /** The length of chunk {@code seq}: {@link #chunkSize}, the last one what remains. */
    public int length(int seq) {
        return (int) Math.min(chunkSize, size - offset(seq));
    }

    public ObjectNode toJson() {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("id", id);
        node.put("size", size);
        node.put("sha256", sha256);
        node.put("chunk_size", chunkSize);
        ArrayNode list = node.putArray("chunks");
        chunks.forEach(list::add);
        return node;
    }

    /**
     * Reads an offer as {@link #toJson} writes it.
     *
     * @throws IllegalArgumentException naming every field that is missing or wrong, and what it must be
     */
    public static TransferOffer parse(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected an object {id, size, sha256, chunk_size, chunks}, found "
                    + (node == null ? "none" : node.getNodeType().toString().toLowerCase()));
        }
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of("id", "size", "sha256", "chunk_size", "chunks").contains(f)) {
                throw new IllegalArgumentException("unknown field '" + f + "', expected one of [chunk_size, chunks, "
                        + "id, sha256, size]");
            }
        }
        JsonNode chunks = node.path("chunks");
        if (!chunks.isArray()) {
            throw new IllegalArgumentException("chunks: expected a list of hex SHA-256, found "
                    + chunks.getNodeType().toString().toLowerCase());
        }
        List<String> hashes = new ArrayList<>();
        if (chunks.size() > MAX_CHUNKS) {
            throw new IllegalArgumentException("chunks: expected at most " + MAX_CHUNKS + ", found " + chunks.size());
        }
        chunks.forEach(c -> hashes.add(c.isTextual() ? c.asText() : null));
        JsonNode size = node.path("size");
        JsonNode chunkSize = node.path("chunk_size");
        return new TransferOffer(node.path("id").isTextual() ? node.get("id").asText() : null,
                size.canConvertToLong() && size.isIntegralNumber() ? size.asLong() : -1,
                node.path("sha256").isTextual() ? node.get("sha256").asText() : null,
                chunkSize.canConvertToInt() && chunkSize.isIntegralNumber() ? chunkSize.asInt() : -1, hashes);
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    static String hex(byte[] data, int from, int length) {
        MessageDigest d = digest();
        d.update(data, from, length);
        return HexFormat.of().formatHex(d.digest());
    }

    private static String quoted(String s) {
        return s == null ? "none" : "'" + (s.length() > 70 ? s.substring(0, 70) + "..." : s) + "'";
    }
}
