package dev.plateau.config;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path tmp;
    private Path bundle;

    @BeforeEach
    void bundle() throws IOException {
        bundle = Files.createDirectories(tmp.resolve("bundle"));
        Files.writeString(bundle.resolve("model.onnx"), "x");
        Files.writeString(bundle.resolve("manifest.yaml"), "x");
        Files.createDirectories(tmp.resolve("replay"));
    }

    private String valid() {
        return """
                device:
                  group: g1
                  node: n1
                state_dir: %s
                models:
                  - name: m
                    bundle: %s
                sources:
                  - name: cam
                    type: replay
                    model: m
                    path: %s
                    rate_hz: 2
                """.formatted(tmp.resolve("state"), bundle, tmp.resolve("replay"));
    }

    private static DeviceConfig read(String yaml) throws IOException {
        return ConfigLoader.read(new StringReader(yaml), "test.yaml");
    }

    private static List<String> errors(String yaml) {
        return assertThrows(ConfigException.class, () -> read(yaml)).errors();
    }

    @Test
    void read_validConfig_appliesDocumentedDefaults() throws IOException {
        DeviceConfig c = read(valid());
        assertAll(
                () -> assertEquals("g1", c.device().group()),
                () -> assertEquals(0, c.models().get(0).threads()),
                () -> assertTrue(c.mqtt().isEmpty()),
                () -> assertEquals(1000, c.samples().maxPerModel()),
                () -> assertEquals(DeviceConfig.Level.INFO, c.logging().level()),
                () -> assertEquals(2.0, ((SourceConfig.Replay) c.sources().get(0)).rateHz()));
    }

    @Test
    void read_probation_readsEveryThresholdAndDefaultsTheRest() throws IOException {
        assertEquals(DeviceConfig.Probation.DEFAULTS, read(valid()).probation());
        DeviceConfig.Probation p = read(valid() + "probation: {window_samples: 100, max_entropy_rise: 0.6, "
                + "max_confidence_drop: 0.2}\n").probation();
        assertEquals(new DeviceConfig.Probation(600, 100, 3.0, 0.2, 0.6), p);
    }

    @Test
    void read_badProbationThresholds_nameTheValueAndTheAllowedRange() {
        List<String> errors = errors(valid() + "probation: {max_entropy_rise: 0, max_confidence_drop: 2}\n");
        assertAll(
                () -> assertEquals(2, errors.size(), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "probation.max_confidence_drop: out of range (2")), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "probation.max_entropy_rise: out of range (0")), errors.toString()));
    }

    @Test
    void read_sourceWithoutAlarm_hasNone() throws IOException {
        assertTrue(read(valid()).sources().get(0).alarm().isEmpty());
    }

    @Test
    void read_sourceAlarm_readsWindowsAndClearWindows() throws IOException {
        DeviceConfig c = read(valid() + "    alarm: {windows: 24, clear_windows: 36}\n");
        assertEquals(new SourceConfig.Alarm(24, 36), c.sources().get(0).alarm().orElseThrow());
    }

    @Test
    void read_emptySourceAlarm_appliesTheDocumentedDefaults() throws IOException {
        SourceConfig.Alarm alarm = read(valid() + "    alarm: {}\n").sources().get(0).alarm().orElseThrow();
        assertEquals(new SourceConfig.Alarm(SourceConfig.Alarm.DEFAULT_WINDOWS, SourceConfig.Alarm.DEFAULT_CLEAR_WINDOWS),
                alarm);
        assertEquals(new SourceConfig.Alarm(12, 60), alarm);
    }

    @Test
    void read_badSourceAlarm_namesEachValueAndTheAllowedRange() {
        List<String> errors = errors(valid() + "    alarm: {windows: 0, clear_windows: 99999, target: 0.01}\n");
        assertAll(
                () -> assertEquals(3, errors.size(), errors.toString()),
                () -> assertTrue(errors.contains("sources[0].alarm.windows: out of range (0, allowed 1..720) (14:22)"),
                        errors.toString()),
                () -> assertTrue(errors.contains(
                        "sources[0].alarm.clear_windows: out of range (99999, allowed 1..17280) (14:40)"), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "sources[0].alarm.target: unknown key, expected one of [clear_windows, windows]")),
                        errors.toString()));
    }

    private String withDrift(String drift) {
        return valid().replace("    bundle: " + bundle + "\n", "    bundle: " + bundle + "\n    drift: " + drift + "\n");
    }

    @Test
    void read_emptyModelDrift_appliesTheDocumentedDefaults() throws IOException {
        DeviceConfig.Drift d = read(withDrift("{}")).models().get(0).drift().orElseThrow();
        assertEquals(new DeviceConfig.Drift(DeviceConfig.Drift.DEFAULT_WINDOW, DeviceConfig.Drift.DEFAULT_CHECK_EVERY,
                DeviceConfig.Drift.DEFAULT_FALSE_ALARM_RATE, DeviceConfig.Drift.DEFAULT_CLEAR_CHECKS), d);
        assertTrue(read(valid()).models().get(0).drift().isEmpty());
    }

    @Test
    void read_badModelDrift_namesEachValueAndTheAllowedRange() {
        List<String> errors = errors(withDrift("{window: 100, check_every: 101, false_alarm_rate: 0.5, clear_checks: 0, "
                + "alpha: 1}"));
        assertAll(
                () -> assertEquals(4, errors.size(), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "models[0].drift.check_every: out of range (101, allowed 1..100)")), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "models[0].drift.false_alarm_rate: out of range (0.5")), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "models[0].drift.clear_checks: out of range (0, allowed 1..10000)")), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith(
                        "models[0].drift.alpha: unknown key")), errors.toString()));
    }

    @Test
    void read_replayShift_readsItAndNamesABadGain() throws IOException {
        DeviceConfig ok = read(valid() + "    shift: {after_s: 60, gain: 0.6, noise: 0.08}\n");
        assertEquals(new SourceConfig.Shift(60, 0.6, 0.08), ((SourceConfig.Replay) ok.sources().get(0)).shift().orElseThrow());
        List<String> errors = errors(valid() + "    shift: {after_s: 60, gain: 2}\n");
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("sources[0].shift.gain: out of range (2"), errors.toString());
    }

    @Test
    void read_unknownKey_namesItWithLineAndTheKnownKeys() {
        List<String> errors = errors(valid() + "colour: blue\n");
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("colour: unknown key, expected one of ["), errors.get(0));
        assertTrue(errors.get(0).endsWith("(14:9)"), errors.get(0));
    }

    @Test
    void read_severalProblems_listsEveryOneWithPathAndPosition() {
        String yaml = valid()
                .replace("rate_hz: 2", "rate_hz: fast")
                .replace("node: n1", "node: n1\n  nodes: typo")
                .replace("name: m\n", "name: m\n    threads: 99\n");
        List<String> errors = errors(yaml);
        assertAll(
                () -> assertEquals(3, errors.size(), errors.toString()),
                () -> assertTrue(errors.contains("device.nodes: unknown key, expected one of [group, node] (4:10)"),
                        errors.toString()),
                () -> assertTrue(errors.contains("models[0].threads: out of range (99, allowed 0..64) (8:14)"),
                        errors.toString()),
                () -> assertTrue(errors.contains("sources[0].rate_hz: expected a number, found 'fast' (15:14)"),
                        errors.toString()));
    }

    @Test
    void read_missingModelBundle_namesThePath() {
        List<String> errors = errors(valid().replace(bundle.toString(), tmp.resolve("nope").toString()));
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("models[0].bundle: model bundle directory not found: "), errors.get(0));
    }

    @Test
    void read_bundleWithoutModelFile_saysWhichFileIsMissing() throws IOException {
        Files.delete(bundle.resolve("model.onnx"));
        List<String> errors = errors(valid());
        assertTrue(errors.get(0).contains("has no model.onnx"), errors.toString());
    }

    @Test
    void read_sourceNamesUnknownModel_listsTheModels() {
        List<String> errors = errors(valid().replace("model: m\n", "model: other\n"));
        assertTrue(errors.get(0).startsWith("sources[0].model: unknown model 'other', expected one of [m]"), errors.toString());
    }

    @Test
    void read_wrongTypes_reportsExpectedAndFound() {
        List<String> errors = errors(valid().replace("group: g1", "group: [a, b]") + "samples:\n  enabled: \"yes\"\n");
        assertAll(
                () -> assertTrue(errors.contains("device.group: expected a string, found a list (2:10)"), errors.toString()),
                () -> assertTrue(errors.contains("samples.enabled: expected true or false, found 'yes' (15:12)"),
                        errors.toString()));
    }

    @Test
    void read_missingRequiredSections_reportsEach() {
        List<String> errors = errors("state_dir: /tmp/x\n");
        assertAll(
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith("device: required, missing")), errors.toString()),
                () -> assertTrue(errors.stream().anyMatch(e -> e.startsWith("models: required, missing")), errors.toString()));
    }

    @Test
    void read_unknownSourceType_listsTheTypes() {
        List<String> errors = errors(valid().replace("type: replay", "type: camera"));
        assertTrue(errors.get(0).contains("unknown value 'camera', expected one of [replay, directory, mqtt]"), errors.toString());
        assertEquals(1, errors.size(), errors.toString());
    }

    @Test
    void read_badBrokerUri_saysWhatIsExpected() {
        List<String> errors = errors(valid() + "mqtt:\n  broker: localhost:1883\n");
        assertTrue(errors.get(0).startsWith("mqtt.broker: expected scheme://host[:port]"), errors.toString());
    }

    @Test
    void read_brokerGiven_derivesClientIdFromDevice() throws IOException {
        DeviceConfig c = read(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n");
        assertEquals("plateau-g1-n1", c.mqtt().orElseThrow().clientId());
    }

    @Test
    void read_commandSettings_readAndDefaulted() throws IOException {
        Path keys = Files.createDirectories(tmp.resolve("operators"));
        MqttConfig.Commands given = read(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n  command_keys: " + keys
                + "\n  command_max_age_seconds: 60\n  command_window_seconds: 600\n  command_rate_per_s: 0.5\n"
                + "  command_burst: 5\n  command_queue: 4\n").mqtt().orElseThrow().commands();
        MqttConfig.Commands defaults = read(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n").mqtt()
                .orElseThrow().commands();

        assertEquals(new MqttConfig.Commands(java.util.Optional.of(keys), 60, 600, 0.5, 5, 4), given);
        assertEquals(MqttConfig.Commands.defaults(), defaults);
    }

    @Test
    void read_commandWindowShorterThanMaxAgeWithKeys_isAnErrorSayingWhy() throws IOException {
        Path keys = Files.createDirectories(tmp.resolve("operators"));
        List<String> errors = errors(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n  command_keys: " + keys
                + "\n  command_max_age_seconds: 600\n  command_window_seconds: 60\n");
        assertTrue(errors.get(0).startsWith("mqtt.command_window_seconds: expected at least command_max_age_seconds"
                + " + 30 = 630 with command_keys, found 60"), errors.toString());
    }

    @Test
    void read_commandKeysNotADirectory_namesIt() {
        List<String> errors = errors(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n  command_keys: "
                + tmp.resolve("nope") + "\n");
        assertTrue(errors.get(0).startsWith("mqtt.command_keys: not a directory"), errors.toString());
    }

    @Test
    void read_tuningDataRoots_absolutePathsOnly() throws IOException {
        assertEquals(List.of(Path.of("/srv/data")), read(valid() + "tuning: {data_roots: [/srv/data]}\n").tuning()
                .dataRoots());
        assertEquals(List.of(), read(valid()).tuning().dataRoots());
        List<String> errors = errors(valid() + "tuning: {data_roots: [relative/dir]}\n");
        assertTrue(errors.get(0).startsWith("tuning.data_roots[0]: expected an absolute path"), errors.toString());
    }

    @Test
    void read_mqttSource_takesTheFleetBrokerOrItsOwn() throws IOException {
        String gateway = "  - {name: gw, type: mqtt, model: m, topic: \"gateway/+/windows\"}\n";
        DeviceConfig c = read(valid() + gateway + "mqtt: {broker: tcp://127.0.0.1:1883}\n");
        SourceConfig.Mqtt m = (SourceConfig.Mqtt) c.sources().get(1);
        assertEquals("gateway/+/windows", m.topic());
        assertTrue(m.broker().isEmpty());
        assertEquals(32, m.queue());
        assertEquals(SourceConfig.Drop.OLDEST, m.drop());

        List<String> errors = errors(valid() + gateway);
        assertTrue(errors.get(0).startsWith("sources[1].broker: required when there is no mqtt section"),
                errors.toString());
        errors = errors(valid() + "  - {name: gw, type: mqtt, model: m, topic: \"a/b#\", broker: \"tcp://gw:1883\", "
                + "qos: 2}\n");
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("sources[1].topic: not an MQTT topic filter: 'a/b#'")),
                errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("sources[1].qos:")), errors.toString());
    }

    @Test
    void read_mqttSourceDrop_newestOrOldestAndNothingElse() throws IOException {
        String source = "  - {name: gw, type: mqtt, model: m, topic: t, broker: \"tcp://gw:1883\", queue: 8, drop: ";
        SourceConfig.Mqtt m = (SourceConfig.Mqtt) read(valid() + source + "newest}\n").sources().get(1);
        assertEquals(SourceConfig.Drop.NEWEST, m.drop());
        assertEquals(8, m.queue());

        List<String> errors = errors(valid() + source + "random}\n");
        assertTrue(errors.get(0).startsWith("sources[1].drop: unknown value 'random', expected one of [oldest, newest]"),
                errors.toString());
    }

    @Test
    void read_tls_readsStoresAndRefusesWhatCannotWork() throws IOException {
        DeviceConfig c = read(valid() + "mqtt:\n  broker: mqtts://fleet.example:8883\n  tls:\n"
                + "    truststore: /etc/plateau/ca.p12\n    keystore: /etc/plateau/device.p12\n"
                + "    keystore_password_file: /etc/plateau/device.pw\n");
        MqttConfig.Tls tls = c.mqtt().orElseThrow().tls().orElseThrow();
        assertEquals(Path.of("/etc/plateau/device.p12"), tls.keystore().orElseThrow());
        assertTrue(tls.truststorePasswordFile().isEmpty());

        List<String> errors = errors(valid() + "mqtt:\n  broker: tcp://127.0.0.1:1883\n  tls:\n"
                + "    keystore: /etc/plateau/device.p12\n    trust: x\n");
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("mqtt.tls.keystore_password_file: required with keystore")),
                errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("mqtt.tls.trust: unknown")), errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("mqtt.tls: TLS settings need a TLS broker")),
                errors.toString());
    }

    @Test
    void read_duplicateSourceNameAfterABrokenSource_namesTheDuplicatesOwnLine() {
        String yaml = valid() + """
                  - name: broken
                    type: camera
                    model: m
                    path: x
                  - name: cam
                    type: directory
                    model: m
                    path: inbox
                """;
        List<String> errors = errors(yaml);
        assertTrue(errors.contains("sources[2].name: duplicate name 'cam' (18:11)"), errors.toString());
    }

    @Test
    void read_duplicateKey_isAnError() {
        ConfigException e = assertThrows(ConfigException.class, () -> read(valid() + "state_dir: /other\n"));
        assertTrue(e.getMessage().contains("duplicate key 'state_dir'"), e.getMessage());
    }

    @Test
    void read_notYaml_saysSoWithPosition() {
        ConfigException e = assertThrows(ConfigException.class, () -> read("device: [unclosed\n"));
        assertTrue(e.errors().get(0).startsWith("(document): not valid YAML"), e.getMessage());
    }

    @Test
    void load_missingFile_isAConfigError() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(tmp.resolve("absent.yaml")));
        assertEquals(List.of("(file): not found"), e.errors());
    }

    @Test
    void read_noHttpSection_nothingListens() throws IOException {
        assertTrue(read(valid()).http().isEmpty());
    }

    @Test
    void read_emptyHttpSection_appliesTheDocumentedDefaults() throws IOException {
        HttpConfig h = read(valid() + "http: {}\n").http().orElseThrow();
        assertAll(
                () -> assertEquals("127.0.0.1", h.host()),
                () -> assertEquals(9464, h.port()),
                () -> assertTrue(h.tokenFile().isEmpty()),
                () -> assertTrue(h.tls().isEmpty()),
                () -> assertEquals(HttpConfig.DEFAULT_MAX_REQUEST_BYTES, h.maxRequestBytes()),
                () -> assertEquals(4, h.maxConcurrent()),
                () -> assertEquals(10, h.requestTimeoutSeconds()));
    }

    @Test
    void read_httpListenAndToken_readsThem() throws IOException {
        Path token = Files.writeString(tmp.resolve("token"), "s3cret\n");
        HttpConfig h = read(valid() + "http: {listen: '[::1]:8080', token_file: " + token + "}\n").http().orElseThrow();
        assertEquals("::1", h.host());
        assertEquals(8080, h.port());
        assertEquals(token, h.tokenFile().orElseThrow());
    }

    @Test
    void read_badHttpSection_namesEachKeyWithTheAllowedValues() throws IOException {
        Files.writeString(tmp.resolve("empty-token"), " \n");
        List<String> errors = errors(valid() + """
                http:
                  listen: localhost
                  token_file: %s
                  max_request_bytes: 10
                  max_concurrent: 0
                  request_timeout_s: 0
                  tls: {keystore: %s}
                  port: 80
                """.formatted(tmp.resolve("empty-token"), tmp.resolve("no-such.p12")));
        String all = String.join("\n", errors);
        assertAll(
                () -> assertTrue(all.contains("http.listen: expected host:port"), all),
                () -> assertTrue(all.contains("http.token_file: expected a non-empty file"), all),
                () -> assertTrue(all.contains("http.max_request_bytes: out of range (10, allowed 1024.."), all),
                () -> assertTrue(all.contains("http.max_concurrent: out of range (0, allowed 1..256)"), all),
                () -> assertTrue(all.contains("http.request_timeout_s: out of range (0, allowed 1..600)"), all),
                () -> assertTrue(all.contains("http.tls.keystore: not a file"), all),
                () -> assertTrue(all.contains("http.tls.keystore_password_file: required, missing"), all),
                () -> assertTrue(all.contains("http.port: unknown key"), all));
    }
}
