package dev.plateau.fleet;

import dev.plateau.config.MqttConfig;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;

/** What every Paho client of ours connects with: timeouts, credentials and TLS (reconnecting is {@link ConnectLoop}'s). */
final class ConnectOptions {
    private ConnectOptions() {}

    /** @param mqtt whose username, password and TLS to use; empty for an anonymous plain connection */
    static MqttConnectionOptions of(Optional<MqttConfig> mqtt) {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setConnectionTimeout(10);
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
