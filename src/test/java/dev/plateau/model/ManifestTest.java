package dev.plateau.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.TinyModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Integer fields of {@code manifest.yaml} take integers only; the {@code alarm} section is checked like the rest. */
class ManifestTest {
    @TempDir
    Path tmp;

    private Path bundleWithVersion(String version) throws Exception {
        TinyModels.Spec spec = TinyModels.gray4x4();
        return TinyModels.bundle(tmp.resolve("b"), spec, TinyModels.manifest(spec).replace("version: 1\n",
                "version: " + version + "\n"));
    }

    @Test
    void open_fractionalVersion_isRefusedNamingTheField() throws Exception {
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(bundleWithVersion("0.5")));
        assertTrue(e.getMessage().contains("manifest.yaml: version: expected an integer"), e.getMessage());
    }

    @Test
    void open_integerVersion_isRead() throws Exception {
        assertEquals(7, ModelBundle.open(bundleWithVersion("7")).manifest().version());
    }

    private Path detectorWith(String alarm) throws Exception {
        TinyModels.Spec spec = TinyModels.window3x8();
        String manifest = TinyModels.manifest(spec, "damaged") + alarm;
        return TinyModels.bundle(tmp.resolve("d"), spec, manifest);
    }

    @Test
    void open_alarmSection_isRead() throws Exception {
        Manifest m = ModelBundle.open(detectorWith("alarm:\n  windows: 12\n  threshold: -0.5\n"
                + "  false_alarm_rate: 0.01\n")).manifest();
        assertEquals(new Manifest.Alarm(12, -0.5, 0.01), m.alarmSpec().orElseThrow());
    }

    @Test
    void open_noAlarmSection_hasNone() throws Exception {
        assertTrue(ModelBundle.open(detectorWith("")).manifest().alarmSpec().isEmpty());
    }

    @Test
    void open_integerThresholdWithoutRate_isRead() throws Exception {
        Manifest.Alarm alarm = ModelBundle.open(detectorWith("alarm: {windows: 1, threshold: 0}\n")).manifest()
                .alarmSpec().orElseThrow();
        assertEquals(0.0, alarm.threshold());
        assertTrue(alarm.falseAlarmRateFigure().isEmpty());
    }

    @Test
    void open_badAlarmValues_areRefusedNamingTheFieldAndWhatIsAllowed() throws Exception {
        String[][] cases = {
            {"alarm: {windows: 0, threshold: 0.0}\n", "alarm.windows out of range (0, allowed 1..720)"},
            {"alarm: {windows: 721, threshold: 0.0}\n", "alarm.windows out of range (721, allowed 1..720)"},
            {"alarm: {threshold: 0.0}\n", "alarm.windows is required"},
            {"alarm: {windows: 12}\n", "alarm.threshold is required"},
            {"alarm: {windows: 12, threshold: 1e999}\n", "alarm.threshold: expected a finite number"},
            {"alarm: {windows: 12, threshold: 0.0, false_alarm_rate: 1.0}\n",
                "alarm.false_alarm_rate: expected a rate with 0 < rate < 1, found 1.0"},
            {"alarm: {windows: 12, threshold: 0.0, false_alarm_rate: 0}\n",
                "alarm.false_alarm_rate: expected a rate with 0 < rate < 1, found 0.0"},
            {"alarm: {windows: 12.5, threshold: 0.0}\n", "alarm.windows: expected an integer"},
            {"alarm: {windows: 12, threshold: 0.0, target: 1}\n", "target"},
        };
        for (String[] c : cases) {
            Path dir = detectorWith(c[0]);
            BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(dir), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            deleteTree(dir);
        }
    }

    @Test
    void open_alarmOnAThreeClassModel_isRefusedSayingWhatItNeeds() throws Exception {
        TinyModels.Spec spec = TinyModels.gray4x4();
        Path dir = TinyModels.bundle(tmp.resolve("g"), spec, TinyModels.manifest(spec)
                + "alarm: {windows: 12, threshold: 0.0}\n");
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(dir));
        assertTrue(e.getMessage().contains("alarm: needs a two-class detector with output.positive, found labels "
                + "[top, middle, lower] and no output.positive"), e.getMessage());
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        dev.plateau.store.DurableFiles.deleteTree(dir);
    }
}
