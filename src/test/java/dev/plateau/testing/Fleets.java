package dev.plateau.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.store.ModelStore;
import dev.plateau.store.SigningKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Devices for deploy tests: the tiny device under {@code tmp/<node>/}, on a broker, trusting one
 * fleet key, replaying at 100 Hz so that probation (500 samples) ends in about five seconds; and
 * signed bundle archives.
 */
public final class Fleets {
    private Fleets() {}

    /** The unit's memory limits, so that a child daemon is as small as on a device. */
    public static final List<String> FLAGS = List.of("-XX:+UseSerialGC", "-Xms8m", "-Xmx160m", "-Xss512k",
            "-XX:MaxDirectMemorySize=32m", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData");

    /** A fleet signing key in {@code tmp/keys}: {@code fleet.key} and {@code fleet.pub}. */
    public static SigningKey fleetKey(Path tmp) {
        SigningKey key = SigningKey.generate();
        key.save(tmp.resolve("keys"), "fleet");
        return key;
    }

    /** Writes the configuration of {@code node} under {@code tmp/node}, trusting the key in {@code tmp/keys/fleet.pub}. */
    public static Path device(Path tmp, String node, String broker) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(node));
        Path config = TinyDevice.config(dir, null);
        Files.writeString(config, Files.readString(config).replace("node: child", "node: " + node)
                .replace("rate_hz: 20", "rate_hz: 100")
                + "mqtt: {broker: \"" + broker + "\", health_period_s: 1}\n"
                // Three daemons and a broker on two shared cores make p99 latency noise, not a verdict:
                // these tests are about confidence; ProbationTest covers the latency bound.
                + "probation: {max_latency_ratio: 100}\n");
        Files.copy(tmp.resolve("keys/fleet.pub"), Files.createDirectories(ModelStore.trustedKeysDir(dir.resolve("state")))
                .resolve("fleet.pub"));
        return config;
    }

    public static ChildJvm start(Path config) throws IOException {
        return ChildJvm.start(FLAGS, Map.of(), "dev.plateau.cli.Main", "run", "-c", config.toString());
    }

    public static void awaitReady(ChildJvm child) throws InterruptedException {
        assertTrue(child.awaitLine("plateau ready", 90), "not ready: " + String.join("\n", child.lines()));
    }

    public static void kill(ChildJvm child) throws InterruptedException {
        child.process().toHandle().destroyForcibly();
        assertTrue(child.process().waitFor(10, TimeUnit.SECONDS), "did not die");
    }

    /**
     * A bundle archive of the tiny gray model at {@code version}, its weights scaled by
     * {@code gain} (0 makes every class equally likely: confidence collapses), signed by
     * {@code key} unless null, with {@code padding} extra random bytes in {@code padding.bin}.
     */
    public static Path bundle(Path tmp, String name, int version, float gain, SigningKey key, int padding)
            throws IOException {
        TinyModels.Spec base = TinyModels.gray4x4();
        float[][] w = new float[base.weights().length][];
        for (int i = 0; i < w.length; i++) {
            w[i] = base.weights()[i].clone();
            for (int j = 0; j < w[i].length; j++) {
                w[i][j] *= gain;
            }
        }
        TinyModels.Spec spec = new TinyModels.Spec(base.name(), base.inputTensor(), base.shape(), base.outputTensor(),
                base.labels(), w, base.bias());
        Path dir = tmp.resolve(name);
        TinyModels.bundle(dir, spec, TinyModels.manifest(spec).replace("version: 1", "version: " + version));
        if (padding > 0) {
            byte[] bytes = new byte[padding];
            new java.util.Random(version * 31L + padding).nextBytes(bytes);
            Files.write(dir.resolve("padding.bin"), bytes);
        }
        if (key != null) {
            key.sign(dir);
        }
        return zip(dir, tmp.resolve(name + ".zip"));
    }

    public static Path zip(Path dir, Path zip) throws IOException {
        try (OutputStream raw = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(raw);
             Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted().toList()) {
                if (Files.isRegularFile(p)) {
                    out.putNextEntry(new ZipEntry(dir.relativize(p).toString()));
                    Files.copy(p, out);
                    out.closeEntry();
                }
            }
        }
        return zip;
    }

    /** What {@code action} printed on standard output while it ran, and its result. */
    public record Printed(int exit, String out) {}

    public static Printed capture(Supplier<Integer> action) {
        PrintStream was = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream tee = new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                bytes.write(b);
                was.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
                was.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8);
        System.setOut(tee);
        try {
            int exit = action.get();
            return new Printed(exit, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(was);
        }
    }

    public static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The nodes' names {@code prefix-1..n}. */
    public static List<String> names(String prefix, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(prefix + "-" + i);
        }
        return out;
    }
}
