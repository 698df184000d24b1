package dev.plateau.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;

/**
 * An Ed25519 key that signs bundles: the fleet's release key, or the device's own key for locally
 * fine-tuned versions. Files: {@code NAME.key} (PKCS#8, base64) and {@code NAME.pub} (X.509, base64).
 */
public final class SigningKey {
    static final String ALGORITHM = "Ed25519";

    private final PrivateKey privateKey;
    private final PublicKey publicKey;

    private SigningKey(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    public static SigningKey generate() {
        try {
            KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
            return new SigningKey(pair.getPrivate(), pair.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no " + ALGORITHM, e);
        }
    }

    /** Reads {@code NAME.key} and the {@code NAME.pub} beside it. */
    public static SigningKey load(Path keyFile) {
        String name = keyFile.getFileName().toString();
        if (!name.endsWith(".key")) {
            throw new IllegalArgumentException("a private key file ends in .key: " + keyFile);
        }
        Path pub = keyFile.resolveSibling(name.substring(0, name.length() - 4) + ".pub");
        try {
            byte[] der = Base64.getDecoder().decode(Files.readString(keyFile, StandardCharsets.US_ASCII).trim());
            PrivateKey priv = KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(der));
            return new SigningKey(priv, TrustedKeys.readPublicKey(pub));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read key " + keyFile, e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an " + ALGORITHM + " private key: " + keyFile + ": " + e.getMessage(), e);
        }
    }

    /** Loads {@code file}, or creates it (and its .pub) on first use: the device's own key. */
    public static synchronized SigningKey loadOrCreate(Path keyFile) {
        if (Files.exists(keyFile)) {
            return load(keyFile);
        }
        SigningKey key = generate();
        String name = keyFile.getFileName().toString();
        key.save(keyFile.toAbsolutePath().getParent(), name.substring(0, name.length() - ".key".length()));
        return key;
    }

    /** Writes {@code dir/NAME.key} (owner read-only where POSIX) and {@code dir/NAME.pub}; returns the .key path. */
    public Path save(Path dir, String name) {
        Path key = dir.resolve(name + ".key");
        Path pub = dir.resolve(name + ".pub");
        try {
            Files.createDirectories(dir);
            if (Files.exists(key) || Files.exists(pub)) {
                throw new IllegalArgumentException("key " + name + " exists already in " + dir + "; keys are never overwritten");
            }
            Files.writeString(pub, Base64.getEncoder().encodeToString(publicKey.getEncoded()) + "\n");
            Files.createFile(key);
            try {
                Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // Not a POSIX file system: the key is as private as its directory.
            }
            Files.writeString(key, Base64.getEncoder().encodeToString(privateKey.getEncoded()) + "\n");
            DurableFiles.fsync(key);
            DurableFiles.fsync(pub);
            return key;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write key " + name + " to " + dir, e);
        }
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    public String keyId() {
        return keyId(publicKey);
    }

    /** The first 8 bytes of the SHA-256 of the encoded public key, in hex. */
    static String keyId(PublicKey key) {
        return HexFormat.of().formatHex(Hashes.digest().digest(key.getEncoded()), 0, 8);
    }

    /** The Ed25519 signature of {@code data}: e.g. a fleet command's canonical form. */
    public byte[] sign(byte[] data) {
        try {
            Signature signer = Signature.getInstance(ALGORITHM);
            signer.initSign(privateKey);
            signer.update(data);
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with " + ALGORITHM, e);
        }
    }

    /**
     * Signs the bundle in {@code dir} as it is now: writes {@code signature.json} with this key's id,
     * the algorithm, the signed hashes of every file and the signature over their canonical form.
     */
    public void sign(Path dir) {
        try {
            SortedMap<String, String> hashes = Hashes.compute(dir);
            Signature signer = Signature.getInstance(ALGORITHM);
            signer.initSign(privateKey);
            signer.update(Hashes.canonical(hashes));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("key_id", keyId());
            doc.put("algorithm", ALGORITHM);
            doc.put("sha256", hashes);
            doc.put("signature", Base64.getEncoder().encodeToString(signer.sign()));
            Hashes.JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(Hashes.SIGNATURE).toFile(), doc);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sign " + dir, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign " + dir + " with " + ALGORITHM, e);
        }
    }
}
