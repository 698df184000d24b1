package dev.plateau.config;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a device configuration strictly: unknown keys, wrong types, values out of range and
 * missing files are all errors, every one listed as {@code path: reason (line:col)}.
 */
public final class ConfigLoader {
    private static boolean isEmptyList(Node node) {
        return node.kind() == Node.Kind.LIST && node.items().isEmpty();
    }

    private static final Set<String> BROKER_SCHEMES = Set.of("tcp", "ssl", "mqtt", "mqtts", "ws", "wss");

    private ConfigLoader() {}

    /** @throws ConfigException listing every problem found */
    public static DeviceConfig load(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(reader, file.toString());
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of("(file): not found"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read configuration " + file, e);
        }
    }

    static DeviceConfig read(Reader reader, String source) throws IOException {
        Node root = YamlTree.parse(reader, source);
        List<String> errors = new ArrayList<>();
        if (root.kind() != Node.Kind.MAP) {
            throw new ConfigException(source, List.of("(document): expected a mapping of settings, found "
                    + root.describe() + " (" + root.where() + ")"));
        }
        Section doc = new Section("", root, errors);
        DeviceConfig.Device device = device(doc.section("device", true));
        Path stateDir = doc.file("state_dir", true);
        if (stateDir != null && Files.exists(stateDir) && !Files.isDirectory(stateDir)) {
            doc.error("state_dir", "exists and is not a directory: " + stateDir, root.fields().get("state_dir"));
        }
        DeviceConfig.Inference inference = inference(doc.section("inference", false));
        List<DeviceConfig.ModelConfig> models = doc.list("models", ConfigLoader::model);
        if (models.isEmpty() && !root.fields().containsKey("models")) {
            doc.error("models", "required, missing: at least one model bundle", root);
        } else if (models.isEmpty() && (errors.isEmpty() || isEmptyList(root.fields().get("models")))) {
            // An empty list is its own error; entries that failed have said why already.
            doc.error("models", "at least one model is required", root.fields().get("models"));
        }
        rejectDuplicateNames(root, "models", errors);
        Set<String> modelNames = new HashSet<>();
        models.forEach(m -> modelNames.add(m.name()));
        boolean fleetBroker = root.fields().containsKey("mqtt");
        List<SourceConfig> sources = doc.list("sources", s -> source(s, modelNames, fleetBroker));
        rejectDuplicateNames(root, "sources", errors);
        DeviceConfig.Samples samples = samples(doc.section("samples", false));
        Section mqttSection = doc.section("mqtt", false);
        Optional<MqttConfig> mqtt = mqttSection == null ? Optional.empty()
                : Optional.ofNullable(mqtt(mqttSection, device));
        DeviceConfig.Logging logging = logging(doc.section("logging", false));
        DeviceConfig.Tuning tuning = tuning(doc.section("tuning", false));
        Section httpSection = doc.section("http", false);
        Optional<HttpConfig> http = httpSection == null ? Optional.empty() : Optional.ofNullable(http(httpSection));
        DeviceConfig.Probation probation = probation(doc.section("probation", false));
        doc.finish();
        if (!errors.isEmpty()) {
            throw new ConfigException(source, errors);
        }
        try {
            return new DeviceConfig(device, stateDir, inference, models, sources, samples, mqtt, logging,
                    tuning, http, probation);
        } catch (IllegalArgumentException | NullPointerException e) {
            // The section readers check the same rules with line numbers; this is a backstop.
            throw new ConfigException(source, List.of("(document): " + e.getMessage() + " (" + root.where() + ")"));
        }
    }

    /**
     * Names are read from the YAML items themselves, so an item that failed to read for another
     * reason cannot shift the index or line reported for a duplicate.
     */
    private static void rejectDuplicateNames(Node root, String key, List<String> errors) {
        Node list = root.fields().get(key);
        if (list == null || list.kind() != Node.Kind.LIST) {
            return;
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < list.items().size(); i++) {
            Node name = list.items().get(i).fields().get("name");
            if (name != null && name.kind() == Node.Kind.SCALAR && !seen.add(name.text())) {
                errors.add(key + "[" + i + "].name: duplicate name '" + name.text() + "' (" + name.where() + ")");
            }
        }
    }

    private static DeviceConfig.Device device(Section s) {
        if (s == null) {
            return null;
        }
        String group = s.name("group", true);
        String node = s.name("node", true);
        s.finish();
        return group == null || node == null ? null : new DeviceConfig.Device(group, node);
    }

    private static DeviceConfig.Inference inference(Section s) {
        if (s == null) {
            return new DeviceConfig.Inference(DeviceConfig.Inference.defaultThreads());
        }
        Integer threads = s.integer("threads", 1, 64, DeviceConfig.Inference.defaultThreads());
        s.finish();
        return new DeviceConfig.Inference(threads);
    }

    private static DeviceConfig.ModelConfig model(Section s) {
        String name = s.name("name", true);
        Path bundle = s.file("bundle", true);
        Integer threads = s.integer("threads", 0, 64, 0);
        Section driftSection = s.section("drift", false);
        Optional<DeviceConfig.Drift> drift = driftSection == null ? Optional.empty() : drift(driftSection);
        s.finish();
        if (drift == null) {
            return null;
        }
        if (bundle != null) {
            if (!Files.isDirectory(bundle)) {
                s.error("bundle", "model bundle directory not found: " + bundle, s.node().fields().get("bundle"));
                return null;
            }
            for (String required : List.of("model.onnx", "manifest.yaml")) {
                if (!Files.isRegularFile(bundle.resolve(required))) {
                    s.error("bundle", "bundle " + bundle + " has no " + required, s.node().fields().get("bundle"));
                    return null;
                }
            }
        }
        return name == null || bundle == null ? null : new DeviceConfig.ModelConfig(name, bundle, threads, drift);
    }

    /** A model's {@code drift} block, or null (with the errors) when a value is wrong. */
    private static Optional<DeviceConfig.Drift> drift(Section s) {
        int errors = s.errorCount();
        Integer window = s.integer("window", 10, DeviceConfig.Drift.MAX_WINDOW, DeviceConfig.Drift.DEFAULT_WINDOW);
        int size = window == null ? DeviceConfig.Drift.DEFAULT_WINDOW : window;
        Integer every = s.integer("check_every", 1, size, Math.min(DeviceConfig.Drift.DEFAULT_CHECK_EVERY, size));
        Double rate = s.number("false_alarm_rate", DeviceConfig.Drift.MIN_FALSE_ALARM_RATE,
                DeviceConfig.Drift.MAX_FALSE_ALARM_RATE, false, DeviceConfig.Drift.DEFAULT_FALSE_ALARM_RATE);
        Integer clear = s.integer("clear_checks", 1, DeviceConfig.Drift.MAX_CLEAR_CHECKS,
                DeviceConfig.Drift.DEFAULT_CLEAR_CHECKS);
        s.finish();
        return s.errorCount() > errors ? null : Optional.of(new DeviceConfig.Drift(window, every, rate, clear));
    }

    private static SourceConfig source(Section s, Set<String> modelNames, boolean fleetBroker) {
        String name = s.name("name", true);
        SourceConfig.Type type = s.choice("type", SourceConfig.Type.class, true, null);
        String model = s.string("model", true);
        if (model != null && !modelNames.isEmpty() && !modelNames.contains(model)) {
            s.error("model", "unknown model '" + model + "', expected one of " + modelNames.stream().sorted().toList(),
                    s.node().fields().get("model"));
            model = null;
        }
        if (type == null) {
            // Which keys belong depends on the type: without one, naming them unknown is noise.
            return null;
        }
        Section alarmSection = s.section("alarm", false);
        Optional<SourceConfig.Alarm> alarm = alarmSection == null ? Optional.empty() : alarm(alarmSection);
        // An alarm block that failed has said why; the rest of the source is still read for its own errors.
        Optional<SourceConfig.Alarm> readable = alarm == null ? Optional.empty() : alarm;
        SourceConfig result = switch (type) {
            case REPLAY -> replay(s, name, model, s.file("path", true), readable);
            case DIRECTORY -> directory(s, name, model, s.file("path", true), readable);
            case MQTT -> mqttSource(s, name, model, fleetBroker, readable);
        };
        s.finish();
        return alarm == null ? null : result;
    }

    /** A source's {@code alarm} block, or null (with the errors) when a value is wrong. */
    private static Optional<SourceConfig.Alarm> alarm(Section s) {
        int errors = s.errorCount();
        Integer windows = s.integer("windows", 1, SourceConfig.Alarm.MAX_WINDOWS, SourceConfig.Alarm.DEFAULT_WINDOWS);
        Integer clear = s.integer("clear_windows", 1, SourceConfig.Alarm.MAX_CLEAR_WINDOWS,
                SourceConfig.Alarm.DEFAULT_CLEAR_WINDOWS);
        s.finish();
        return s.errorCount() > errors ? null : Optional.of(new SourceConfig.Alarm(windows, clear));
    }

    private static SourceConfig replay(Section s, String name, String model, Path path,
                                       Optional<SourceConfig.Alarm> alarm) {
        Double rate = s.number("rate_hz", 0.001, 1000.0, true, null);
        Boolean shuffle = s.bool("shuffle", false);
        Integer seed = s.integer("seed", 0, Integer.MAX_VALUE, 0);
        Section shiftSection = s.section("shift", false);
        Optional<SourceConfig.Shift> shift = shiftSection == null ? Optional.empty() : shift(shiftSection);
        if (shift == null) {
            return null;
        }
        if (path != null && !Files.isDirectory(path)) {
            s.error("path", "replay directory not found: " + path, s.node().fields().get("path"));
            return null;
        }
        if (name == null || model == null || path == null || rate == null) {
            return null;
        }
        return new SourceConfig.Replay(name, model, path, rate, shuffle, seed, alarm, shift);
    }

    /** A replay's {@code shift} block, or null (with the errors) when a value is wrong. */
    private static Optional<SourceConfig.Shift> shift(Section s) {
        int errors = s.errorCount();
        Double after = s.number("after_s", 0.0, 1e9, true, null);
        Double gain = s.number("gain", 0.01, 1.0, false, 1.0);
        Double noise = s.number("noise", 0.0, 1.0, false, 0.0);
        s.finish();
        return s.errorCount() > errors ? null : Optional.of(new SourceConfig.Shift(after, gain, noise));
    }

    private static SourceConfig directory(Section s, String name, String model, Path path,
                                          Optional<SourceConfig.Alarm> alarm) {
        Integer poll = s.integer("poll_ms", 10, 3_600_000, 500);
        Integer settle = s.integer("settle_ms", 0, 600_000, 200);
        if (path != null && Files.exists(path) && !Files.isDirectory(path)) {
            s.error("path", "exists and is not a directory: " + path, s.node().fields().get("path"));
            return null;
        }
        if (name == null || model == null || path == null) {
            return null;
        }
        return new SourceConfig.Directory(name, model, path, poll, settle, alarm);
    }

    private static SourceConfig mqttSource(Section s, String name, String model, boolean fleetBroker,
                                           Optional<SourceConfig.Alarm> alarm) {
        String topic = s.string("topic", true);
        if (topic != null && !validFilter(topic)) {
            s.error("topic", "not an MQTT topic filter: '" + topic + "' (levels split by '/', '+' and '#' only as "
                    + "a whole level, '#' only last)", s.node().fields().get("topic"));
            topic = null;
        }
        URI broker = broker(s, false);
        if (broker == null && !s.node().fields().containsKey("broker") && !fleetBroker) {
            s.error("broker", "required when there is no mqtt section to take the fleet broker from", s.node());
        }
        Integer qos = s.integer("qos", 0, 1, 0);
        Integer queue = s.integer("queue", 1, 10_000, SourceConfig.Mqtt.DEFAULT_QUEUE);
        SourceConfig.Drop drop = s.choice("drop", SourceConfig.Drop.class, false, SourceConfig.Drop.OLDEST);
        if (name == null || model == null || topic == null) {
            return null;
        }
        return new SourceConfig.Mqtt(name, model, topic, Optional.ofNullable(broker), qos, queue, drop, alarm);
    }

    private static boolean validFilter(String topic) {
        String[] levels = topic.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            boolean wildcard = level.equals("+") || (level.equals("#") && i == levels.length - 1);
            if (!wildcard && (level.contains("+") || level.contains("#"))) {
                return false;
            }
        }
        return !topic.isEmpty() && topic.indexOf('\0') < 0;
    }

    /** {@code key} as a broker URI of one of {@link #BROKER_SCHEMES}; null (with an error) when it is not one. */
    private static URI broker(Section s, boolean required) {
        String broker = s.string("broker", required);
        if (broker == null) {
            return null;
        }
        try {
            URI uri = new URI(broker);
            if (uri.getScheme() != null && BROKER_SCHEMES.contains(uri.getScheme()) && uri.getHost() != null) {
                return uri;
            }
            s.error("broker", "expected scheme://host[:port] with scheme one of "
                    + BROKER_SCHEMES.stream().sorted().toList() + ", found '" + broker + "'",
                    s.node().fields().get("broker"));
        } catch (URISyntaxException e) {
            s.error("broker", "not a URI: '" + broker + "'", s.node().fields().get("broker"));
        }
        return null;
    }

    private static DeviceConfig.Samples samples(Section s) {
        if (s == null) {
            return new DeviceConfig.Samples(true, 1000);
        }
        Boolean enabled = s.bool("enabled", true);
        Integer max = s.integer("max_per_model", 1, 1_000_000, 1000);
        s.finish();
        return new DeviceConfig.Samples(enabled, max);
    }

    private static MqttConfig mqtt(Section s, DeviceConfig.Device device) {
        URI uri = broker(s, true);
        String clientId = s.string("client_id", false);
        if (clientId == null && device != null) {
            clientId = "plateau-" + device.group() + "-" + device.node();
        }
        String username = s.string("username", false);
        Path passwordFile = s.file("password_file", false);
        Integer keepAlive = s.integer("keepalive_s", 5, 3600, 30);
        Integer expiry = s.integer("session_expiry_s", 0, Integer.MAX_VALUE, 86_400);
        Integer health = s.integer("health_period_s", 1, 86_400, 30);
        Boolean results = s.bool("publish_results", false);
        MqttConfig.Commands commands = commands(s);
        Section tlsSection = s.section("tls", false);
        MqttConfig.Tls tls = tlsSection == null ? null : tls(tlsSection);
        if (tls != null && uri != null && !MqttConfig.TLS_SCHEMES.contains(uri.getScheme())) {
            s.error("tls", "TLS settings need a TLS broker (scheme one of "
                    + MqttConfig.TLS_SCHEMES.stream().sorted().toList() + "), found '" + uri + "'",
                    s.node().fields().get("tls"));
        }
        s.finish();
        if (uri == null || clientId == null || commands == null) {
            return null;
        }
        return new MqttConfig(uri, clientId, Optional.ofNullable(username), Optional.ofNullable(passwordFile),
                Optional.ofNullable(tls), keepAlive, expiry, health, results, commands);
    }

    private static MqttConfig.Commands commands(Section s) {
        Path keys = s.file("command_keys", false);
        if (keys != null && !Files.isDirectory(keys)) {
            s.error("command_keys", "not a directory: " + keys + " (a directory of operator *.pub keys)",
                    s.node().fields().get("command_keys"));
            keys = null;
        }
        Integer maxAge = s.integer("command_max_age_seconds", 1, 86_400,
                MqttConfig.Commands.DEFAULT_MAX_AGE_SECONDS);
        Integer window = s.integer("command_window_seconds", 1, 7 * 86_400,
                MqttConfig.Commands.DEFAULT_WINDOW_SECONDS);
        Double rate = s.number("command_rate_per_s", 0.001, 10_000, false,
                MqttConfig.Commands.DEFAULT_RATE_PER_SECOND);
        Integer burst = s.integer("command_burst", 1, 100_000, MqttConfig.Commands.DEFAULT_BURST);
        Integer queue = s.integer("command_queue", 1, 10_000, MqttConfig.Commands.DEFAULT_QUEUE);
        if (maxAge == null || window == null || rate == null || burst == null || queue == null) {
            return null;
        }
        try {
            return new MqttConfig.Commands(Optional.ofNullable(keys), maxAge, window, rate, burst, queue);
        } catch (IllegalArgumentException e) {
            s.error("command_window_seconds", e.getMessage().substring(e.getMessage().indexOf(':') + 2),
                    s.node().fields().getOrDefault("command_window_seconds", s.node()));
            return null;
        }
    }

    private static MqttConfig.Tls tls(Section s) {
        Path truststore = s.file("truststore", false);
        Path truststorePassword = s.file("truststore_password_file", false);
        Path keystore = s.file("keystore", false);
        Path keystorePassword = s.file("keystore_password_file", false);
        if (keystore != null && keystorePassword == null) {
            s.error("keystore_password_file", "required with keystore: the file holding the keystore's password",
                    s.node());
        }
        if (truststorePassword != null && truststore == null) {
            s.error("truststore", "required with truststore_password_file", s.node());
        }
        s.finish();
        return new MqttConfig.Tls(Optional.ofNullable(truststore), Optional.ofNullable(truststorePassword),
                Optional.ofNullable(keystore), Optional.ofNullable(keystorePassword));
    }

    /** The {@code http} section, or null (with the errors) when a value is wrong. */
    private static HttpConfig http(Section s) {
        int errors = s.errorCount();
        String listen = s.string("listen", false);
        String host = HttpConfig.DEFAULT_HOST;
        int port = HttpConfig.DEFAULT_PORT;
        if (listen != null) {
            int colon = listen.lastIndexOf(':');
            String h = colon < 0 ? "" : listen.substring(0, colon);
            if (h.startsWith("[") && h.endsWith("]")) {
                h = h.substring(1, h.length() - 1);
            }
            int p = -1;
            try {
                p = colon < 0 ? -1 : Integer.parseInt(listen.substring(colon + 1));
            } catch (NumberFormatException e) {
                // Reported below.
            }
            if (h.isBlank() || p < 0 || p > 65_535) {
                s.error("listen", "expected host:port with a port 0..65535 (e.g. " + HttpConfig.DEFAULT_HOST + ":"
                        + HttpConfig.DEFAULT_PORT + ", or 0.0.0.0:" + HttpConfig.DEFAULT_PORT
                        + " for every interface), found '" + listen + "'", s.node().fields().get("listen"));
            } else {
                host = h;
                port = p;
            }
        }
        Path token = s.file("token_file", false);
        if (token != null) {
            readableSecret(s, "token_file", token, "the bearer token clients must send");
        }
        Integer maxBytes = s.integer("max_request_bytes", HttpConfig.MIN_REQUEST_BYTES, HttpConfig.MAX_REQUEST_BYTES,
                (int) HttpConfig.DEFAULT_MAX_REQUEST_BYTES);
        Integer concurrent = s.integer("max_concurrent", 1, HttpConfig.MAX_CONCURRENT,
                HttpConfig.DEFAULT_MAX_CONCURRENT);
        Integer timeout = s.integer("request_timeout_s", 1, HttpConfig.MAX_REQUEST_TIMEOUT_SECONDS,
                HttpConfig.DEFAULT_REQUEST_TIMEOUT_SECONDS);
        Section tlsSection = s.section("tls", false);
        HttpConfig.Tls tls = null;
        if (tlsSection != null) {
            Path keystore = tlsSection.file("keystore", true);
            Path password = tlsSection.file("keystore_password_file", true);
            if (keystore != null && !Files.isRegularFile(keystore)) {
                tlsSection.error("keystore", "not a file: " + keystore + " (a PKCS12 store with the server's key and "
                        + "certificate)", tlsSection.node().fields().get("keystore"));
            }
            if (password != null) {
                readableSecret(tlsSection, "keystore_password_file", password, "the keystore's password");
            }
            tlsSection.finish();
            tls = keystore == null || password == null ? null : new HttpConfig.Tls(keystore, password);
        }
        s.finish();
        if (s.errorCount() > errors) {
            return null;
        }
        return new HttpConfig(host, port, Optional.ofNullable(token), Optional.ofNullable(tls), maxBytes, concurrent,
                timeout);
    }

    /** A file holding a secret must exist and not be empty; its content is never quoted. */
    private static void readableSecret(Section s, String key, Path file, String what) {
        try {
            if (!Files.isRegularFile(file) || Files.readString(file, StandardCharsets.UTF_8).isBlank()) {
                s.error(key, "expected a non-empty file holding " + what + ": " + file, s.node().fields().get(key));
            }
        } catch (IOException | UncheckedIOException e) {
            s.error(key, "cannot read " + file + ": " + e.getMessage(), s.node().fields().get(key));
        }
    }

    private static DeviceConfig.Probation probation(Section s) {
        DeviceConfig.Probation d = DeviceConfig.Probation.DEFAULTS;
        if (s == null) {
            return d;
        }
        Integer window = s.integer("window_s", 1, 7 * 86_400, d.windowSeconds());
        Integer samples = s.integer("window_samples", 0, 10_000_000, d.windowSamples());
        Double latency = s.number("max_latency_ratio", 1.0, 1000.0, false, d.maxLatencyRatio());
        Double confidence = s.number("max_confidence_drop", 0.01, 1.0, false, d.maxConfidenceDrop());
        Double entropy = s.number("max_entropy_rise", 0.01, 10.0, false, d.maxEntropyRise());
        s.finish();
        return window == null || samples == null || latency == null || confidence == null || entropy == null ? d
                : new DeviceConfig.Probation(window, samples, latency, confidence, entropy);
    }

    private static DeviceConfig.Tuning tuning(Section s) {
        if (s == null) {
            return DeviceConfig.Tuning.defaults();
        }
        List<Path> roots = s.absolutePaths("data_roots");
        s.finish();
        return new DeviceConfig.Tuning(roots);
    }

    private static DeviceConfig.Logging logging(Section s) {
        if (s == null) {
            return new DeviceConfig.Logging(DeviceConfig.Level.INFO, Optional.empty(), 10, 5);
        }
        DeviceConfig.Level level = s.choice("level", DeviceConfig.Level.class, false, DeviceConfig.Level.INFO);
        Path file = s.file("file", false);
        Integer maxMb = s.integer("file_max_mb", 1, 10_000, 10);
        Integer keep = s.integer("file_keep", 1, 1_000, 5);
        s.finish();
        return new DeviceConfig.Logging(level, Optional.ofNullable(file), maxMb, keep);
    }
}
