package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fine-tune's manifest is the parent's rewritten: the {@code alarm} section survives it, or is
 * replaced by the one the writer was given, and the written file opens as a bundle again.
 */
class CandidateManifestTest {
    private static final Path BRIDGE = Path.of("models/bridge-vibration");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path tmp;

    private ObjectNode parentWithAlarm() throws Exception {
        String text = Files.readString(BRIDGE.resolve(ModelBundle.MANIFEST_FILE))
                + "alarm:\n  windows: 12\n  threshold: -1.5\n  false_alarm_rate: 0.01\n";
        return (ObjectNode) YAML.readTree(text);
    }

    /** Writes {@code manifest} beside a copy of the bridge model and opens it as a bundle. */
    private Manifest reopened(ObjectNode manifest) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("v" + manifest.get("version").asInt()
                + (manifest.has("alarm") ? "-alarm" : "")));
        Files.copy(BRIDGE.resolve(ModelBundle.MODEL_FILE), dir.resolve(ModelBundle.MODEL_FILE));
        Files.writeString(dir.resolve(ModelBundle.MANIFEST_FILE), CandidateWriter.yaml(manifest));
        return ModelBundle.open(dir).manifest();
    }

    @Test
    void rewrite_parentWithAlarm_keepsItAndDropsTheBaseline() throws Exception {
        Manifest m = reopened(CandidateWriter.rewrite(parentWithAlarm(), 3, Optional.empty()));
        assertEquals(3, m.version());
        assertEquals(new Manifest.Alarm(12, -1.5, 0.01), m.alarmSpec().orElseThrow());
        assertTrue(m.baselineFigures().isEmpty(), "the parent's baseline is not this version's");
    }

    @Test
    void rewrite_withAlarm_replacesTheParentsSection() throws Exception {
        Manifest.Alarm chosen = new Manifest.Alarm(24, 0.75, null);
        Manifest m = reopened(CandidateWriter.rewrite(parentWithAlarm(), 4, Optional.of(chosen)));
        assertEquals(chosen, m.alarmSpec().orElseThrow());
    }

    @Test
    void rewrite_parentWithoutAlarm_addsOneWhenGiven() throws Exception {
        ObjectNode parent = (ObjectNode) YAML.readTree(BRIDGE.resolve(ModelBundle.MANIFEST_FILE).toFile());
        assertTrue(reopened(CandidateWriter.rewrite(parent, 2, Optional.empty())).alarmSpec().isEmpty());
        Manifest m = reopened(CandidateWriter.rewrite(parent, 2, Optional.of(new Manifest.Alarm(12, 0.0, 0.05))));
        assertEquals(new Manifest.Alarm(12, 0.0, 0.05), m.alarmSpec().orElseThrow());
    }
}
