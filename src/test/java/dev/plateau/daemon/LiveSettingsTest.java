package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiveSettingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LiveSettings FILE = new LiveSettings(1000, 30, false);

    @Test
    void check_everyWrongKeyAndValueNamed() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LiveSettings.check(
                JSON.readTree("{\"models\":[],\"mqtt.health_period_s\":0,\"mqtt.publish_results\":\"yes\","
                        + "\"samples.max_per_model\":1.5}")));
        assertTrue(e.getMessage().contains("models: not a setting that can change while running"), e.getMessage());
        assertTrue(e.getMessage().contains("mqtt.health_period_s: expected an integer 1..86400, found 0"), e.getMessage());
        assertTrue(e.getMessage().contains("mqtt.publish_results: expected true or false, found \"yes\""), e.getMessage());
        assertTrue(e.getMessage().contains("samples.max_per_model: expected an integer 1..1000000, found 1.5"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LiveSettings.check(JSON.readTree("{}")));
    }

    @Test
    void with_overridesOnlyWhatIsSet() throws Exception {
        ObjectNode o = LiveSettings.check(JSON.readTree("{\"mqtt.publish_results\":true}"));
        assertEquals(new LiveSettings(1000, 30, true), FILE.with(o));
    }

    @Test
    void saveLoad_roundTrip_resetRemovesFile_invalidFileIgnored(@TempDir Path state) throws Exception {
        ObjectNode o = LiveSettings.check(JSON.readTree("{\"mqtt.health_period_s\":5}"));
        LiveSettings.save(state, o);
        assertEquals(new LiveSettings(1000, 5, false), FILE.with(LiveSettings.load(state)));
        LiveSettings.save(state, JSON.createObjectNode());
        assertTrue(Files.notExists(state.resolve(LiveSettings.FILE)));

        Files.writeString(state.resolve(LiveSettings.FILE), "{\"mqtt.health_period_s\": -1}");
        assertEquals(FILE, FILE.with(LiveSettings.load(state)), "a bad file must not stop the daemon");
    }
}
