package dev.plateau.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The optional local HTTP server: Prometheus metrics, health, the Open Inference Protocol and the
 * status page. Absent from the configuration means nothing listens.
 *
 * @param host             the address to bind; loopback unless the operator opens it up
 * @param port             the TCP port (9464 is the Prometheus exporters' customary one)
 * @param tokenFile        a file holding the bearer token every request must carry; none: no token
 * @param tls              a PKCS12 key store with the server's key and certificate; none: plain HTTP
 * @param maxRequestBytes  the largest request body accepted; larger ones get 413 before they are read
 * @param maxConcurrent    inference requests in flight at once; one more gets 503
 * @param requestTimeoutSeconds how long a client may take to send its request; a slower one is cut off
 */
public record HttpConfig(String host, int port, Optional<Path> tokenFile, Optional<Tls> tls, long maxRequestBytes,
                         int maxConcurrent, int requestTimeoutSeconds) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 9464;
    /** An image the inbox would take (16 MiB, the preprocessor's limit) and the JSON around it. */
    public static final long DEFAULT_MAX_REQUEST_BYTES = 16L * 1024 * 1024 + 64 * 1024;
    public static final long MIN_REQUEST_BYTES = 1024;
    public static final long MAX_REQUEST_BYTES = 256L * 1024 * 1024;
    /** Two cores on the smallest target: more concurrent inferences only queue on the model's lock. */
    public static final int DEFAULT_MAX_CONCURRENT = 4;
    public static final int MAX_CONCURRENT = 256;
    /** A request on a LAN arrives in milliseconds; 10 s leaves room for a slow radio link. */
    public static final int DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
    public static final int MAX_REQUEST_TIMEOUT_SECONDS = 600;

    /** The server's key and certificate, in a PKCS12 store whose password is read from a file. */
    public record Tls(Path keystore, Path keystorePasswordFile) {
        public Tls {
            Checks.present("http.tls.keystore", keystore);
            Checks.present("http.tls.keystore_password_file", keystorePasswordFile);
        }
    }

    public HttpConfig {
        Checks.notBlank("http.listen", host);
        Checks.inRange("http.listen port", port, 0, 65_535);
        Checks.present("http.token_file", tokenFile);
        Checks.present("http.tls", tls);
        Checks.inRange("http.max_request_bytes", maxRequestBytes, MIN_REQUEST_BYTES, MAX_REQUEST_BYTES);
        Checks.inRange("http.max_concurrent", maxConcurrent, 1, MAX_CONCURRENT);
        Checks.inRange("http.request_timeout_s", requestTimeoutSeconds, 1, MAX_REQUEST_TIMEOUT_SECONDS);
    }

    /** {@code host:port} as configured, for logs. */
    public String listen() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
