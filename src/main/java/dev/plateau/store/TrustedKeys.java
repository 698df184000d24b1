package dev.plateau.store;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/** The Ed25519 public keys a device trusts, by key id; checks a bundle's {@code signature.json}. */
public final class TrustedKeys {
    private final Map<String, PublicKey> keys;

    private TrustedKeys(Map<String, PublicKey> keys) {
        this.keys = Map.copyOf(keys);
    }

    public static TrustedKeys of(PublicKey... keys) {
        Map<String, PublicKey> byId = new LinkedHashMap<>();
        for (PublicKey k : keys) {
            byId.put(SigningKey.keyId(k), k);
        }
        return new TrustedKeys(byId);
    }

    /** Every {@code *.pub} in {@code dir}; a directory that does not exist trusts nobody. */
    public static TrustedKeys load(Path dir) {
        Map<String, PublicKey> byId = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return new TrustedKeys(byId);
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".pub")).sorted().toList()) {
                PublicKey k = readPublicKey(f);
                byId.put(SigningKey.keyId(k), k);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list trusted keys in " + dir, e);
        }
        return new TrustedKeys(byId);
    }

    /** These keys and {@code more}: e.g. the fleet's keys and the device's own. */
    public TrustedKeys with(PublicKey more) {
        Map<String, PublicKey> byId = new LinkedHashMap<>(keys);
        byId.put(SigningKey.keyId(more), more);
        return new TrustedKeys(byId);
    }

    public java.util.Set<String> keyIds() {
        return keys.keySet();
    }

    /** Whether {@code signature} is {@code keyId}'s Ed25519 signature of {@code data}; false for an unknown key. */
    public boolean verifies(String keyId, byte[] data, byte[] signature) {
        PublicKey key = keys.get(keyId);
        if (key == null) {
            return false;
        }
        try {
            Signature verifier = Signature.getInstance(SigningKey.ALGORITHM);
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static PublicKey readPublicKey(Path file) {
        try {
            byte[] der = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
            return KeyFactory.getInstance(SigningKey.ALGORITHM).generatePublic(new X509EncodedKeySpec(der));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read public key " + file, e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an " + SigningKey.ALGORITHM + " public key: " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code dir}'s files are exactly the ones signed, by a trusted key.
     *
     * @return the id of the key that signed
     * @throws StoreException with the reason: unsigned, unknown key, bad signature, tampered or extra file
     */
    public String verify(Path dir) {
        Path file = dir.resolve(Hashes.SIGNATURE);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new StoreException("unsigned: no " + Hashes.SIGNATURE);
        }
        Map<String, Object> doc;
        try {
            doc = Hashes.JSON.readValue(file.toFile(), new TypeReference<Map<String, Object>>() {});
        } catch (IOException e) {
            throw new StoreException("unreadable " + Hashes.SIGNATURE + ": " + e.getMessage(), e);
        }
        String keyId = String.valueOf(doc.get("key_id"));
        if (!SigningKey.ALGORITHM.equals(doc.get("algorithm"))) {
            throw new StoreException("signature algorithm " + doc.get("algorithm") + " is not " + SigningKey.ALGORITHM);
        }
        PublicKey key = keys.get(keyId);
        if (key == null) {
            throw new StoreException("signed by untrusted key " + keyId + "; trusted keys: " + keys.keySet());
        }
        SortedMap<String, String> signed = new TreeMap<>();
        if (!(doc.get("sha256") instanceof Map<?, ?> hashes)) {
            throw new StoreException(Hashes.SIGNATURE + " has no sha256 object");
        }
        hashes.forEach((k, v) -> signed.put(String.valueOf(k), String.valueOf(v)));
        try {
            Signature verifier = Signature.getInstance(SigningKey.ALGORITHM);
            verifier.initVerify(key);
            verifier.update(Hashes.canonical(signed));
            if (!verifier.verify(Base64.getDecoder().decode(String.valueOf(doc.get("signature"))))) {
                throw new StoreException("signature does not verify with key " + keyId);
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new StoreException("signature does not verify with key " + keyId + ": " + e.getMessage(), e);
        }
        try {
            Hashes.difference(signed, Hashes.compute(dir)).ifPresent(reason -> {
                throw new StoreException("tampered: " + reason + " (signed by " + keyId + ")");
            });
        } catch (IOException e) {
            throw new StoreException("cannot hash " + dir + ": " + e.getMessage(), e);
        }
        return keyId;
    }
}
