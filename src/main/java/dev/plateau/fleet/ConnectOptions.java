package dev.plateau.fleet;

import dev.plateau.config.MqttConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;

/** What every Paho client of ours connects with: timeouts, reconnect cap, credentials and TLS. */
final class ConnectOptions {
    private ConnectOptions() {}

    /** @param mqtt whose username, password and TLS to use; empty for an anonymous plain connection */
    static MqttConnectionOptions of(Optional<MqttConfig> mqtt, Duration reconnectMax) {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setConnectionTimeout(10);
        // Paho 1.2.5's automatic reconnect doubles a delay from 1 s up to maxReconnectDelay (ms),
        // not up to the setAutomaticReconnectDelay bound, and keeps that delay in a static field
        // shared by every client in the JVM: the cap is what keeps a reconnect after an outage prompt.
        o.setMaxReconnectDelay((int) Math.max(1_000, reconnectMax.toMillis()));
        o.setHttpsHostnameVerificationEnabled(true);
        mqtt.ifPresent(m -> {
            m.username().ifPresent(o::setUserName);
            m.passwordFile().ifPresent(file -> o.setPassword(
                    Secrets.read("mqtt.password_file", file).getBytes(StandardCharsets.UTF_8)));
            m.tls().ifPresent(tls -> o.setSocketFactory(TlsSockets.factory(tls)));
        });
        return o;
    }
}
