package dev.plateau.fleet;

import com.hivemq.embedded.EmbeddedHiveMQ;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One HiveMQ CE broker for the whole test JVM, in memory, on a free loopback port; started on
 * first use (about two seconds) and left to die with the JVM. A second listener speaks TLS with
 * client certificates required, using the test-only certificates of {@code src/test/resources/tls}.
 */
final class Broker {
    private static Broker instance;

    final int port;
    final int tlsPort;

    private Broker(int port, int tlsPort) {
        this.port = port;
        this.tlsPort = tlsPort;
    }

    /** A test-only TLS file: {@code broker.p12}, {@code device.p12}, {@code truststore.p12}, {@code password}. */
    static Path tlsFile(String name) {
        try {
            return Path.of(Broker.class.getResource("/tls/" + name).toURI());
        } catch (java.net.URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test resource tls/" + name + " missing", e);
        }
    }

    static synchronized Broker get() {
        if (instance == null) {
            instance = start();
        }
        return instance;
    }

    String uri() {
        return "tcp://127.0.0.1:" + port;
    }

    /** The TLS listener by the name its certificate carries. */
    String tlsUri() {
        return "ssl://localhost:" + tlsPort;
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Broker start() {
        try {
            Path home = Files.createTempDirectory("plateau-hivemq");
            Path conf = Files.createDirectories(home.resolve("conf"));
            Path data = Files.createDirectories(home.resolve("data"));
            Path extensions = Files.createDirectories(home.resolve("extensions"));
            int port = freePort();
            int tlsPort = freePort();
            Files.writeString(conf.resolve("config.xml"), """
                    <?xml version="1.0"?>
                    <hivemq>
                        <listeners>
                            <tcp-listener>
                                <port>%d</port>
                                <bind-address>127.0.0.1</bind-address>
                            </tcp-listener>
                            <tls-tcp-listener>
                                <port>%d</port>
                                <bind-address>127.0.0.1</bind-address>
                                <tls>
                                    <keystore>
                                        <path>%s</path>
                                        <password>changeit</password>
                                        <private-key-password>changeit</private-key-password>
                                    </keystore>
                                    <truststore>
                                        <path>%s</path>
                                        <password>changeit</password>
                                    </truststore>
                                    <client-authentication-mode>REQUIRED</client-authentication-mode>
                                </tls>
                            </tls-tcp-listener>
                        </listeners>
                        <mqtt>
                            <queued-messages>
                                <!-- Burst tests queue thousands of replies for one slow subscriber; the default 1000 drops. -->
                                <max-queue-size>100000</max-queue-size>
                            </queued-messages>
                        </mqtt>
                        <persistence>
                            <mode>in-memory</mode>
                        </persistence>
                        <anonymous-usage-statistics>
                            <enabled>false</enabled>
                        </anonymous-usage-statistics>
                    </hivemq>
                    """.formatted(port, tlsPort, tlsFile("broker.p12"), tlsFile("truststore.p12")));
            Files.writeString(conf.resolve("logback.xml"), """
                    <configuration scan="false">
                        <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
                            <encoder><pattern>hivemq %level %msg%n</pattern></encoder>
                        </appender>
                        <root level="WARN"><appender-ref ref="CONSOLE"/></root>
                    </configuration>
                    """);
            EmbeddedHiveMQ hivemq = EmbeddedHiveMQ.builder()
                    .withConfigurationFolder(conf)
                    .withDataFolder(data)
                    .withExtensionsFolder(extensions)
                    .build();
            hivemq.start().get(60, TimeUnit.SECONDS);
            return new Broker(port, tlsPort);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded HiveMQ broker", e);
        }
    }
}
