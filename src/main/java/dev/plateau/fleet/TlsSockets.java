package dev.plateau.fleet;

import dev.plateau.config.MqttConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS side of {@code mqtt.tls}: PKCS12 truststore and keystore into a socket factory for
 * Paho. Hostname verification is Paho's ({@code setHttpsHostnameVerificationEnabled}), on the
 * sockets this factory makes.
 */
final class TlsSockets {
    private TlsSockets() {}

    static SSLSocketFactory factory(MqttConfig.Tls tls) {
        TrustManager[] trust = null;
        if (tls.truststore().isPresent()) {
            KeyStore store = load("mqtt.tls.truststore", tls.truststore().get(), tls.truststorePasswordFile());
            try {
                TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                f.init(store);
                trust = f.getTrustManagers();
            } catch (GeneralSecurityException e) {
                throw new FleetException("mqtt.tls.truststore: " + tls.truststore().get() + " holds no usable CA: "
                        + e.getMessage(), e);
            }
        }
        KeyManager[] keys = null;
        if (tls.keystore().isPresent()) {
            KeyStore store = load("mqtt.tls.keystore", tls.keystore().get(), tls.keystorePasswordFile());
            try {
                KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                f.init(store, password(tls.keystorePasswordFile()));
                keys = f.getKeyManagers();
            } catch (GeneralSecurityException e) {
                throw new FleetException("mqtt.tls.keystore: " + tls.keystore().get()
                        + ": the private key cannot be read with the keystore's password: " + e.getMessage(), e);
            }
        }
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new FleetException("mqtt.tls: cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static KeyStore load(String key, Path file, Optional<Path> passwordFile) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password(passwordFile));
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new FleetException(key + ": cannot read " + file + " as a PKCS12 store with the password of "
                    + passwordFile.map(Path::toString).orElse("(none)") + ": " + e.getMessage(), e);
        }
    }

    private static char[] password(Optional<Path> file) {
        return file.map(f -> Secrets.read("mqtt.tls password file", f).toCharArray()).orElse(null);
    }
}
