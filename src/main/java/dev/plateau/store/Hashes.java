package dev.plateau.store;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/** SHA-256 of every file of a bundle, {@code hashes.json}, and the canonical bytes that are signed. */
final class Hashes {
    static final String FILE = "hashes.json";
    static final String SIGNATURE = "signature.json";
    static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String CANONICAL_HEADER = "plateau-bundle-hashes-v1\n";

    private Hashes() {}

    /**
     * Hashes of every regular file under {@code dir} by relative path with '/' separators, leaving out
     * hashes.json and signature.json.
     *
     * @throws StoreException on a symbolic link or anything that is not a file or directory
     */
    static SortedMap<String, String> compute(Path dir) throws IOException {
        SortedMap<String, String> hashes = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                String rel = relative(dir, p);
                if (Files.isSymbolicLink(p)) {
                    throw new StoreException("symbolic link " + rel + " in " + dir + ": bundles hold plain files only");
                }
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new StoreException("special file " + rel + " in " + dir);
                }
                if (rel.equals(FILE) || rel.equals(SIGNATURE)) {
                    continue;
                }
                hashes.put(rel, sha256(p));
            }
        }
        return hashes;
    }

    static String relative(Path dir, Path p) {
        return dir.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS), digest)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    static void write(Path dir, Map<String, String> hashes) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(FILE).toFile(), Map.of("sha256", hashes));
    }

    static SortedMap<String, String> read(Path dir) throws IOException {
        Map<String, Map<String, String>> doc = JSON.readValue(dir.resolve(FILE).toFile(),
                new TypeReference<Map<String, Map<String, String>>>() {});
        Map<String, String> hashes = doc.get("sha256");
        if (hashes == null) {
            throw new IOException(FILE + " has no \"sha256\" object");
        }
        return new TreeMap<>(hashes);
    }

    /** Why the files of {@code dir} do not match its hashes.json, or empty when they do. */
    static Optional<String> mismatch(Path dir) {
        try {
            if (!Files.isRegularFile(dir.resolve(FILE), LinkOption.NOFOLLOW_LINKS)) {
                return Optional.of("no " + FILE);
            }
            return difference(read(dir), compute(dir));
        } catch (IOException | RuntimeException e) {
            return Optional.of("cannot check: " + e.getMessage());
        }
    }

    /** The first difference between expected and actual hashes, by file, or empty. */
    static Optional<String> difference(Map<String, String> expected, Map<String, String> actual) {
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String seen = actual.get(e.getKey());
            if (seen == null) {
                return Optional.of("file " + e.getKey() + " is missing");
            }
            if (!seen.equals(e.getValue())) {
                return Optional.of("file " + e.getKey() + " does not match its hash (expected sha256 "
                        + e.getValue() + ", found " + seen + ")");
            }
        }
        for (String name : actual.keySet()) {
            if (!expected.containsKey(name)) {
                return Optional.of("file " + name + " is not covered by the hashes");
            }
        }
        return Optional.empty();
    }

    /** The bytes a signature covers: a header, then one "path TAB sha256" line per file in path order. */
    static byte[] canonical(SortedMap<String, String> hashes) {
        StringBuilder text = new StringBuilder(CANONICAL_HEADER);
        hashes.forEach((path, hash) -> text.append(path).append('\t').append(hash).append('\n'));
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
