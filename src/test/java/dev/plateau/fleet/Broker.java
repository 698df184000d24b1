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
 * first use (about two seconds) and left to die with the JVM.
 */
final class Broker {
    private static Broker instance;

    final int port;

    private Broker(int port) {
        this.port = port;
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
            Files.writeString(conf.resolve("config.xml"), """
                    <?xml version="1.0"?>
                    <hivemq>
                        <listeners>
                            <tcp-listener>
                                <port>%d</port>
                                <bind-address>127.0.0.1</bind-address>
                            </tcp-listener>
                        </listeners>
                        <persistence>
                            <mode>in-memory</mode>
                        </persistence>
                        <anonymous-usage-statistics>
                            <enabled>false</enabled>
                        </anonymous-usage-statistics>
                    </hivemq>
                    """.formatted(port));
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
            return new Broker(port);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded HiveMQ broker", e);
        }
    }
}
