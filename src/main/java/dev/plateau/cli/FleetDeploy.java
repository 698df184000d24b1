package dev.plateau.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.plateau.fleet.DeployController;
import dev.plateau.fleet.FleetClient;
import dev.plateau.fleet.Rollout;
import dev.plateau.fleet.TransferOffer;
import dev.plateau.store.SigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau fleet deploy} and {@code plateau fleet rollout}: wiring of {@link DeployController}. */
final class FleetDeploy {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long --all listens for retained statuses: they arrive at once on subscribe. */
    private static final Duration DISCOVER = Duration.ofSeconds(2);

    private FleetDeploy() {}

    static final class Targets {
        @Option(names = "--nodes", split = ",", paramLabel = "NODE", description = "the nodes, in order")
        List<String> nodes;

        @Option(names = "--all", description = "every node of the group with a retained status")
        boolean all;
    }

    static final class Common {
        @Option(names = "--key", paramLabel = "KEY", description = "sign commands with this operator key")
        Path key;

        @Option(names = "--deadline", defaultValue = "3600", paramLabel = "S",
                description = "seconds until unfinished and offline nodes count as failed (default: ${DEFAULT-VALUE})")
        long deadlineSeconds;

        @Option(names = "--json", description = "JSON lines instead of a table")
        boolean json;

        Optional<SigningKey> signer() {
            return key == null ? Optional.empty() : Optional.of(SigningKey.load(key));
        }
    }

    @Command(name = "deploy", mixinStandardHelpOptions = true,
            description = {"Deliver a signed bundle (.zip or directory) to nodes over MQTT, in chunks they pull.",
                "One line per node as it progresses. Exit 0 when every node installed it, 3 otherwise."})
    static final class Deploy implements java.util.concurrent.Callable<Integer> {
        @Mixin
        FleetCommand.Connection connection;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Targets targets;

        @Mixin
        Common common;

        @Parameters(index = "0", paramLabel = "BUNDLE")
        Path bundle;

        @Override
        public Integer call() throws Exception {
            Path zip = archive(bundle, null);
            Rollout.Plan plan = plan(connection.group, zip, 0, Integer.MAX_VALUE, Integer.MAX_VALUE, Duration.ZERO,
                    Optional.empty(), common.deadlineSeconds, false, false);
            List<String> nodes = nodes(connection, targets);
            Rollout rollout = Rollout.plan(plan, nodes, null);
            run(rollout, connection, common);
            return rollout.nodes().stream().allMatch(n -> n.state.equals("installed")) ? ExitCode.OK : ExitCode.REJECTED;
        }
    }

    @Command(name = "rollout", mixinStandardHelpOptions = true,
            description = {"A staged rollout: canaries first, then batches, each stage once the one before has "
                    + "ended its probation; halts when more than --max-failures nodes fail.",
                "Exit 0 when every node kept the new version, 3 when the rollout halted or a node failed."})
    static final class RolloutCommand implements java.util.concurrent.Callable<Integer> {
        @Mixin
        FleetCommand.Connection connection;

        @ArgGroup(exclusive = true)
        Targets targets;

        @Mixin
        Common common;

        @Parameters(index = "0", arity = "0..1", paramLabel = "BUNDLE")
        Path bundle;

        @Option(names = "--canary", defaultValue = "1", paramLabel = "N") int canary;
        @Option(names = "--batch", defaultValue = "10", paramLabel = "M") int batch;
        @Option(names = "--max-failures", defaultValue = "0", paramLabel = "K") int maxFailures;

        @Option(names = "--probation-wait", defaultValue = "900", paramLabel = "S",
                description = "seconds an installed node may take to end probation (default: ${DEFAULT-VALUE})")
        long probationWait;

        @Option(names = "--offline-wait", paramLabel = "S",
                description = "seconds a node of the running stage may be offline before it counts as failed "
                        + "(default: until --deadline)")
        Long offlineWait;

        @Option(names = "--state", paramLabel = "FILE", description = "where the rollout's state is kept (durably)")
        Path state;

        @Option(names = "--resume", paramLabel = "FILE", description = "continue the rollout of this state file")
        Path resume;

        @Option(names = "--rollback-on-halt", description = "on a halt, send the nodes already done back")
        boolean rollbackOnHalt;

        @Override
        public Integer call() throws Exception {
            Rollout rollout;
            if (resume != null) {
                rollout = Rollout.load(resume);
            } else {
                if (bundle == null) {
                    throw new IllegalArgumentException("BUNDLE: required unless --resume FILE");
                }
                if (canary < 0 || batch < 1 || maxFailures < 0 || probationWait < 1
                        || (offlineWait != null && offlineWait < 1)) {
                    throw new IllegalArgumentException("expected --canary 0 or more, --batch 1 or more, "
                            + "--max-failures 0 or more, --probation-wait 1 or more, --offline-wait 1 or more; found "
                            + canary + ", " + batch + ", " + maxFailures + ", " + probationWait + ", "
                            + (offlineWait == null ? "none" : offlineWait));
                }
                Path file = state != null ? state : Files.createTempFile("plateau-rollout-", ".json");
                Path zip = archive(bundle, file.resolveSibling(file.getFileName() + ".bundle.zip"));
                Rollout.Plan plan = plan(connection.group, zip, canary, batch, maxFailures,
                        Duration.ofSeconds(probationWait), Optional.ofNullable(offlineWait).map(Duration::ofSeconds),
                        common.deadlineSeconds, rollbackOnHalt, true);
                List<String> nodes = nodes(connection, targets == null ? allTargets() : targets);
                rollout = Rollout.plan(plan, nodes, file);
                System.err.println("rollout state in " + file + " (resume with --resume " + file + ")");
            }
            run(rollout, connection, common);
            return rollout.state().equals("done") && rollout.failures() == 0 ? ExitCode.OK : ExitCode.REJECTED;
        }

        private static Targets allTargets() {
            Targets t = new Targets();
            t.all = true;
            return t;
        }
    }

    private static void run(Rollout rollout, FleetCommand.Connection connection, Common common) throws Exception {
        PrintStream out = System.out;
        if (!common.json) {
            out.printf("%-24s %-12s %-8s %s%n", "NODE", "STATE", "VERSION", "REASON");
        }
        char[] password = connection.passwordFile == null ? null
                : dev.plateau.fleet.Secrets.read("--password-file", connection.passwordFile).toCharArray();
        long begin = System.nanoTime();
        try (DeployController controller = DeployController.connect(rollout, connection.broker, connection.username,
                password, common.signer(), Clock.systemUTC(), n -> line(out, common.json, n))) {
            controller.run();
            long ms = (System.nanoTime() - begin) / 1_000_000;
            if (common.json) {
                var summary = JSON.createObjectNode();
                summary.put("rollout", rollout.state());
                summary.put("reason", rollout.reason());
                summary.put("failures", rollout.failures());
                summary.set("counts", JSON.valueToTree(rollout.counts()));
                summary.put("ms", ms);
                summary.put("messages_published", controller.messagesPublished());
                summary.put("messages_received", controller.messagesReceived());
                summary.put("chunks_sent", controller.chunksSent());
                out.println(summary);
            } else {
                out.println();
                out.printf("%-24s %-12s %-8s %s%n", "NODE", "STATE", "VERSION", "REASON");
                rollout.nodes().forEach(n -> out.printf("%-24s %-12s %-8s %s%n", n.name, n.state, n.version, n.reason));
                out.println((rollout.settings().probation() ? "rollout " : "deploy ") + rollout.state() + ": " + rollout.reason() + "; " + rollout.counts() + " in "
                        + ms + " ms, " + controller.messagesPublished() + " messages sent, "
                        + controller.messagesReceived() + " received");
            }
        }
    }

    private static void line(PrintStream out, boolean json, Rollout.Node n) {
        if (json) {
            out.println(Rollout.nodeJson(n));
        } else {
            out.printf("%-24s %-12s %-8s %s%n", n.name, n.state, n.version, n.reason);
        }
        out.flush();
    }

    private static List<String> nodes(FleetCommand.Connection connection, Targets targets) {
        if (targets.nodes != null && !targets.nodes.isEmpty()) {
            return List.copyOf(targets.nodes);
        }
        try (FleetClient client = connection.connect()) {
            List<String> found = DeployController.discover(client, DISCOVER);
            if (found.isEmpty()) {
                throw new IllegalArgumentException("--all: no node of group " + connection.group
                        + " has a retained status on " + connection.broker);
            }
            return found;
        }
    }

    private static Rollout.Plan plan(String group, Path zip, int canary, int batch, int maxFailures,
                                     Duration probationWait, Optional<Duration> offlineWait, long deadlineSeconds,
                                     boolean rollbackOnHalt,
                                     boolean probation) throws IOException {
        JsonNode manifest = manifest(zip);
        TransferOffer offer = TransferOffer.of(zip, "b", TransferOffer.chunkSizeFor(Files.size(zip)));
        return new Rollout.Plan(group, zip, offer, manifest.path("name").asText(), manifest.path("version").asInt(),
                canary, batch, maxFailures, probationWait, offlineWait, Instant.now().plusSeconds(deadlineSeconds),
                rollbackOnHalt,
                probation, "plateau-rollout-" + UUID.randomUUID());
    }

    /** The manifest of a bundle archive: at its top, or in its one top-level directory. */
    static JsonNode manifest(Path zip) throws IOException {
        try (InputStream raw = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(raw)) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                String name = e.getName();
                if (name.equals("manifest.yaml") || name.matches("[^/]+/manifest\\.yaml")) {
                    return YAML.readTree(in.readNBytes(1 << 20));
                }
            }
        }
        throw new IllegalArgumentException("BUNDLE: " + zip + " holds no manifest.yaml");
    }

    /** {@code bundle} itself when it is a .zip; a directory is zipped into {@code target} (or a temporary file). */
    static Path archive(Path bundle, Path target) throws IOException {
        if (Files.isRegularFile(bundle) && bundle.getFileName().toString().endsWith(".zip")) {
            if (target == null) {
                return bundle;
            }
            Files.copy(bundle, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return target;
        }
        if (!Files.isDirectory(bundle)) {
            throw new IllegalArgumentException("BUNDLE: expected a .zip archive or a bundle directory, found " + bundle);
        }
        Path zip = target != null ? target : Files.createTempFile("plateau-bundle-", ".zip");
        try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw);
             Stream<Path> walk = Files.walk(bundle)) {
            for (Path p : walk.sorted().toList()) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.putNextEntry(new ZipEntry(bundle.relativize(p).toString().replace('\\', '/')));
                    Files.copy(p, out);
                    out.closeEntry();
                }
            }
        }
        return zip;
    }
}
