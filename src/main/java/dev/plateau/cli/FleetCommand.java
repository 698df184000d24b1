package dev.plateau.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.fleet.FleetClient;
import dev.plateau.fleet.Secrets;
import dev.plateau.store.SigningKey;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau fleet}: the operator's tool, talking to devices through the broker. */
@Command(name = "fleet", mixinStandardHelpOptions = true, description = "Operate devices through the MQTT broker.",
        subcommands = {FleetCommand.Send.class, FleetCommand.Status.class, FleetCommand.Watch.class,
            FleetDeploy.Deploy.class, FleetDeploy.RolloutCommand.class, FleetSamples.Pull.class,
            FleetSamples.Label.class})
final class FleetCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void run() {
        throw new IllegalArgumentException("a subcommand is required: send, status, watch, deploy, rollout, samples, label");
    }

    static final class Connection {
        @Option(names = "--broker", required = true, paramLabel = "URI", description = "e.g. tcp://127.0.0.1:1883")
        String broker;

        @Option(names = "--group", required = true, paramLabel = "GROUP", description = "device group")
        String group;

        @Option(names = "--username", paramLabel = "USER")
        String username;

        @Option(names = "--password-file", paramLabel = "FILE")
        Path passwordFile;

        FleetClient connect() {
            char[] password = passwordFile == null ? null : Secrets.read("--password-file", passwordFile).toCharArray();
            return FleetClient.connect(broker, group, username, password);
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true,
            description = {"Send a command to NODE and wait for its final reply; prints every reply as a JSON line.",
                "Exit 0 succeeded, 2 rejected by the device, 3 failed on the device, 1 no reply."})
    static final class Send implements Callable<Integer> {
        @Mixin
        Connection connection;

        @Parameters(index = "0", paramLabel = "NODE")
        String node;

        @Parameters(index = "1", paramLabel = "CMD", description = "ping, activate, rollback, ...")
        String command;

        @Parameters(index = "2..*", paramLabel = "KEY=VALUE", description = "arguments; numbers, booleans, [lists] and {objects} as JSON, the rest as text")
        List<String> args = List.of();

        @Option(names = "--timeout", defaultValue = "60", description = "seconds to wait (default: ${DEFAULT-VALUE})")
        int timeoutSeconds;

        @Option(names = "--key", paramLabel = "KEY",
                description = "sign with this operator key (NAME.key, NAME.pub beside it; from plateau models keygen)")
        Path key;

        @Override
        public Integer call() throws IOException {
            ObjectNode arguments = JSON.createObjectNode();
            for (String arg : args) {
                int eq = arg.indexOf('=');
                if (eq < 1) {
                    throw new IllegalArgumentException("argument '" + arg + "': expected KEY=VALUE");
                }
                arguments.set(arg.substring(0, eq), value(arg.substring(eq + 1)));
            }
            Optional<SigningKey> signer = key == null ? Optional.empty() : Optional.of(signingKey(key));
            try (FleetClient client = connection.connect()) {
                JsonNode last = client.send(node, command, arguments, signer, Duration.ofSeconds(timeoutSeconds),
                        reply -> System.out.println(reply));
                return switch (last.path("state").asText()) {
                    case "succeeded" -> ExitCode.OK;
                    case "rejected" -> ExitCode.BAD_INPUT;
                    default -> ExitCode.REJECTED;
                };
            }
        }

        private static SigningKey signingKey(Path file) {
            try {
                return SigningKey.load(file);
            } catch (java.io.UncheckedIOException e) {
                throw new IllegalArgumentException("--key: " + e.getMessage() + ": " + e.getCause().getMessage(), e);
            }
        }

        private static JsonNode value(String text) {
            try {
                JsonNode parsed = JSON.readTree(text);
                if (parsed != null && (parsed.isNumber() || parsed.isBoolean() || parsed.isContainerNode())) {
                    return parsed;
                }
            } catch (IOException e) {
                // Not a JSON number or boolean: it is a string.
            }
            return JSON.getNodeFactory().textNode(text);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Devices seen under the group: online or offline (retained status), per model the active "
                    + "version and probation, the last fine-tune (from health), and the last deploy (retained)."})
    static final class Status implements Callable<Integer> {
        @Mixin
        Connection connection;

        @Option(names = "--seconds", defaultValue = "5", description = "how long to listen (default: ${DEFAULT-VALUE})")
        int seconds;

        @Option(names = "--json", description = "one JSON object per device instead of a table")
        boolean json;

        @Override
        public Integer call() throws IOException {
            Map<String, Map<String, Object>> devices = new TreeMap<>();
            try (FleetClient client = connection.connect()) {
                client.follow("#", Duration.ofSeconds(seconds), (node, message) -> {
                    synchronized (devices) {
                        Map<String, Object> d = devices.computeIfAbsent(node, n -> new LinkedHashMap<>());
                        d.put("node", node);
                        if (message.has("session") || message.path("state").asText().matches("online|offline")
                                && !message.has("deploy")) {
                            d.put("state", message.get("state").asText());
                            d.put("session", message.path("session").asInt());
                        }
                        if (message.has("models")) {
                            d.put("models", models(message.get("models")));
                        }
                        if (message.has("deploy") && !message.has("eventId")) {
                            d.put("last_deploy", message);
                        }
                        if (message.has("eventId")) {
                            d.put("last_event", message.path("type").asText(message.path("eventId").asText()));
                        }
                    }
                });
            }
            synchronized (devices) {
                if (!json) {
                    System.out.printf("%-24s %-8s %-40s %-40s %s%n", "NODE", "STATE", "MODELS (version, probation)",
                            "LAST DEPLOY", "LAST FINE-TUNE");
                }
                for (Map<String, Object> d : devices.values()) {
                    System.out.println(json ? JSON.writeValueAsString(d) : String.format("%-24s %-8s %-40s %-40s %s",
                            d.get("node"), d.getOrDefault("state", "?"), modelsText(d.get("models")),
                            deployText(d.get("last_deploy")), fineTuneText(d.get("models"))));
                }
            }
            return ExitCode.OK;
        }

        /** Per model from a health report: the active version, probation, the last fine-tune. */
        private static Map<String, Object> models(JsonNode models) {
            Map<String, Object> out = new TreeMap<>();
            models.properties().forEach(e -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("version", e.getValue().path("version").asInt());
                m.put("probation", e.getValue().path("probation"));
                if (e.getValue().has("last_finetune")) {
                    m.put("last_finetune", e.getValue().get("last_finetune"));
                }
                out.put(e.getKey(), m);
            });
            return out;
        }

        @SuppressWarnings("unchecked")
        private static String modelsText(Object models) {
            if (!(models instanceof Map<?, ?> map)) {
                return "(no health yet)";
            }
            StringBuilder b = new StringBuilder();
            ((Map<String, Map<String, Object>>) map).forEach((name, m) -> {
                JsonNode p = (JsonNode) m.get("probation");
                String probation = p.path("state").asText("none");
                b.append(b.length() > 0 ? " " : "").append(name).append(" v").append(m.get("version"))
                        .append(probation.equals("none") ? "" : " (" + probation + " v" + p.path("version").asText() + ")");
            });
            return b.toString();
        }

        private static String deployText(Object deploy) {
            if (!(deploy instanceof JsonNode d)) {
                return "-";
            }
            String text = d.path("state").asText() + " " + d.path("deploy").asText();
            if (d.has("version")) {
                text += " v" + d.get("version").asText();
            }
            if (d.has("have")) {
                text += " " + d.get("have").asText() + "/" + d.path("of").asText();
            }
            if (d.has("reason")) {
                text += ": " + d.get("reason").asText();
            }
            return text;
        }

        @SuppressWarnings("unchecked")
        private static String fineTuneText(Object models) {
            if (!(models instanceof Map<?, ?> map)) {
                return "-";
            }
            StringBuilder b = new StringBuilder();
            ((Map<String, Map<String, Object>>) map).forEach((name, m) -> {
                if (m.get("last_finetune") instanceof JsonNode f) {
                    b.append(b.length() > 0 ? " " : "").append(name).append(": ").append(f.path("decision").asText())
                            .append(" at ").append(f.path("at").asText());
                }
            });
            return b.length() == 0 ? "-" : b.toString();
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, description = "Print events of the group as JSON lines.")
    static final class Watch implements Callable<Integer> {
        @Mixin
        Connection connection;

        @Option(names = "--seconds", defaultValue = "0", description = "stop after this long; 0 = until Ctrl-C")
        int seconds;

        @Override
        public Integer call() throws IOException {
            try (FleetClient client = connection.connect()) {
                client.follow("event/#", seconds == 0 ? Duration.ofDays(36_500) : Duration.ofSeconds(seconds),
                        (node, event) -> System.out.println("{\"node\":\"" + node + "\",\"event\":" + event + "}"));
            }
            return ExitCode.OK;
        }
    }
}
