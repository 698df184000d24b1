package dev.plateau.http;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.plateau.config.HttpConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.tinylog.Logger;

/**
 * The local HTTP server on the JDK's own {@link HttpServer} (or {@link HttpsServer} with TLS):
 * one handler thread per allowed concurrent inference plus two for scrapes and health checks.
 * Started by the daemon when the configuration has an {@code http} section; stopped before the
 * models close, so no request runs on a closed model.
 */
public final class HttpService implements AutoCloseable {
    /** Handler threads beside those for inferences: a scrape and a health check are never starved by them. */
    private static final int SPARE_THREADS = 2;
    /** How long {@link #close()} lets requests in flight finish. */
    private static final int STOP_SECONDS = 2;

    /** The server cannot start as configured: the address, the token or the key store; a configuration problem. */
    public static final class StartException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StartException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private boolean closed;

    private HttpService(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds {@code config}'s address and starts serving {@code device}.
     *
     * @throws StartException when the address cannot be bound (in use, not local) or the token or
     *                        key store cannot be read
     */
    public static HttpService start(HttpConfig config, DeviceView device) {
        Timeouts.apply(config.requestTimeoutSeconds());
        Optional<byte[]> token = config.tokenFile().map(HttpService::readToken);
        InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
        HttpServer server;
        try {
            if (config.tls().isPresent()) {
                HttpsServer https = HttpsServer.create(address, 0);
                https.setHttpsConfigurator(new HttpsConfigurator(sslContext(config.tls().get())));
                server = https;
            } else {
                server = HttpServer.create(address, 0);
            }
        } catch (IOException e) {
            throw new StartException("http.listen: cannot listen on " + config.listen() + ": " + e.getMessage(), e);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(config.maxConcurrent() + SPARE_THREADS, r -> {
            Thread t = new Thread(r, "plateau-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", new Routes(device, token, config.maxRequestBytes(), config.maxConcurrent()));
        server.start();
        Logger.info("http: listening on {}://{} (token {}, at most {} inferences at once, bodies up to {} bytes)",
                config.tls().isPresent() ? "https" : "http", listenedOn(server, config), token.isPresent()
                        ? "required" : "not required", config.maxConcurrent(), config.maxRequestBytes());
        return new HttpService(server, executor);
    }

    /** The port actually bound: the configured one, or the one the system chose for port 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    private static String listenedOn(HttpServer server, HttpConfig config) {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return host + ":" + server.getAddress().getPort();
    }

    private static byte[] readToken(Path file) {
        try {
            String token = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (token.isEmpty()) {
                throw new StartException("http.token_file: " + file + " is empty", null);
            }
            return token.getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StartException("http.token_file: cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static SSLContext sslContext(HttpConfig.Tls tls) {
        try {
            char[] password = Files.readString(tls.keystorePasswordFile(), StandardCharsets.UTF_8).strip()
                    .toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(tls.keystore())) {
                store.load(in, password);
            }
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new StartException("http.tls: cannot load the key store " + tls.keystore() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Stops listening, lets requests in flight finish for a moment, and stops the handler threads. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(STOP_SECONDS);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(STOP_SECONDS, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        Logger.info("http: stopped");
    }
}
