package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.config.MqttConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS against the test broker's TLS listener, which requires a client certificate signed
 * by the test CA. The broker's certificate names {@code localhost} only, so the same listener
 * reached as {@code 127.0.0.1} must fail hostname verification.
 */
class TlsTest {
    private static final Duration REFUSED_WAIT = Duration.ofSeconds(3);

    @TempDir
    Path state;

    private final Broker broker = Broker.get();
    private final String node = "tls-" + UUID.randomUUID().toString().substring(0, 8);
    private final Topics topics = new Topics("test", node);

    private static MqttConfig.Tls tls(boolean withKeystore) {
        Path password = Broker.tlsFile("password");
        return new MqttConfig.Tls(Optional.of(Broker.tlsFile("truststore.p12")), Optional.of(password),
                withKeystore ? Optional.of(Broker.tlsFile("device.p12")) : Optional.empty(),
                withKeystore ? Optional.of(password) : Optional.empty());
    }

    private Fleet start(String uri, MqttConfig.Tls tls) {
        MqttConfig mqtt = new MqttConfig(URI.create(uri), "plateau-test-" + node, Optional.empty(), Optional.empty(),
                Optional.of(tls), 30, 3600, 3600, false);
        return Fleet.start(FleetSettings.of(mqtt, "test", node, state, Clock.systemUTC())
                .withBackoff(Duration.ofMillis(100), Duration.ofMillis(500)), Map::of, Map.of());
    }

    @Test
    void mutualTls_deviceCertificate_connectsAndPublishesOnline() throws Exception {
        try (Observer observer = new Observer(broker, topics.status());
             Fleet fleet = start(broker.tlsUri(), tls(true))) {
            assertEquals("online", observer.next(topics.status(), FleetTest.WAIT).json().get("state").asText());
            assertTrue(fleet.connected());
        }
    }

    @Test
    void mutualTls_noClientCertificate_refusedByTheBroker() throws Exception {
        try (Fleet fleet = start(broker.tlsUri(), tls(false))) {
            Thread.sleep(REFUSED_WAIT.toMillis());
            assertFalse(fleet.connected());
        }
    }

    @Test
    void hostnameVerification_addressNotInCertificate_refused() throws Exception {
        try (Fleet fleet = start("ssl://127.0.0.1:" + broker.tlsPort, tls(true))) {
            Thread.sleep(REFUSED_WAIT.toMillis());
            assertFalse(fleet.connected(), "the certificate names localhost, not 127.0.0.1");
        }
    }

    @Test
    void keystore_wrongPassword_clearErrorAtStart() throws Exception {
        Path wrong = Files.writeString(state.resolve("wrong-password"), "nope\n");
        MqttConfig.Tls tls = new MqttConfig.Tls(Optional.empty(), Optional.empty(),
                Optional.of(Broker.tlsFile("device.p12")), Optional.of(wrong));
        FleetException e = assertThrows(FleetException.class, () -> start(broker.tlsUri(), tls));
        assertTrue(e.getMessage().startsWith("mqtt.tls.keystore: cannot read "), e.getMessage());
        assertTrue(e.getMessage().contains("device.p12"), e.getMessage());
    }
}
