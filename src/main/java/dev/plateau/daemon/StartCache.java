package dev.plateau.daemon;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.tinylog.Logger;

/**
 * What a start of the daemon need not do again, made once per install by {@code systemd/install.sh}:
 * ONNX Runtime's native libraries unpacked from the jar (else ONNX Runtime writes 28 MB to
 * {@code java.io.tmpdir} on every start: a quarter of a second of a 2-core device's start, and as
 * much flash wear), and an AppCDS archive of the classes a start loads, written by a training run
 * of the daemon ({@code -XX:ArchiveClassesAtExit}, Java 17's way).
 *
 * <p>The unit names the library directory with {@code -Dplateau.native.dir}. {@link #use()} checks
 * at each start that it holds this jar's libraries (sizes and CRCs recorded when unpacked, against
 * the jar's entries) and otherwise says why and lets ONNX Runtime unpack them as before: a jar
 * upgraded without the install script starts, only slower. The JVM itself ignores a missing archive
 * and one made for another jar or JDK.
 */
public final class StartCache {
    /** The system property naming the directory {@link #unpack} filled. */
    public static final String NATIVE_DIR_PROPERTY = "plateau.native.dir";
    private static final String ORT_PATH_PROPERTY = "onnxruntime.native.path";
    private static final List<String> LIBRARIES = List.of("libonnxruntime.so", "libonnxruntime4j_jni.so");
    /** One line per library, "name size crc32", as the jar has them. */
    private static final String STAMP = "libraries.txt";
    /** How long the training run goes on after its first result, so the steady path's classes load too. */
    private static final Duration AFTER_FIRST_RESULT = Duration.ofSeconds(3);
    private static final String FIRST_RESULT = " result source=";

    /** Why {@link #use()} did not take the libraries, until {@link #warnIfUnused()} logs it. */
    private static volatile String unused;

    private StartCache() {}

    /**
     * {@code StartCache NATIVE_DIR [ARCHIVE CONFIG]}: unpacks the libraries into NATIVE_DIR and,
     * given ARCHIVE and CONFIG, writes the archive from a run of {@code plateau run -c CONFIG} on
     * this JVM's class path (run it from the directory CONFIG's relative paths start at).
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        LogSetup.forCommand();
        if (args.length != 1 && args.length != 3) {
            System.err.println("usage: StartCache NATIVE_DIR [ARCHIVE CONFIG]");
            System.exit(2);
        }
        Path natives = Path.of(args[0]);
        unpack(natives);
        System.out.println("unpacked ONNX Runtime's libraries into " + natives);
        if (args.length == 3) {
            Duration took = train(Path.of(args[1]), natives, Path.of(args[2]));
            System.out.printf(Locale.ROOT, "wrote %s from a %.1f s run on %s%n", args[1], took.toMillis() / 1e3,
                    args[2]);
        }
    }

    /**
     * Points ONNX Runtime at the unpacked libraries when the unit named them and they are this
     * jar's; else remembers why for {@link #warnIfUnused()}. Logs nothing: tinylog's configuration
     * is frozen by its first line, and the daemon's is set only once its config is read.
     */
    public static void use() {
        String dir = System.getProperty(NATIVE_DIR_PROPERTY);
        if (dir == null || System.getProperty(ORT_PATH_PROPERTY) != null) {
            return;
        }
        String problem = problem(Path.of(dir));
        if (problem == null) {
            System.setProperty(ORT_PATH_PROPERTY, dir);
        } else {
            unused = "ONNX Runtime's libraries in " + dir + " are not used: " + problem + "; ONNX Runtime unpacks its "
                    + "own into " + System.getProperty("java.io.tmpdir") + ", as on every start (systemd/install.sh "
                    + "unpacks them once)";
        }
    }

    /** Logs, once, why {@link #use()} did not take the unit's libraries. */
    public static void warnIfUnused() {
        String message = unused;
        unused = null;
        if (message != null) {
            Logger.warn(message);
        }
    }

    /** Writes this jar's ONNX Runtime libraries for this machine into {@code dir}, each replaced whole. */
    public static void unpack(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(STAMP));
        for (String library : LIBRARIES) {
            Path part = dir.resolve(library + ".part");
            try (InputStream in = resource(library).openStream()) {
                Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(part, dir.resolve(library), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        }
        Path part = dir.resolve(STAMP + ".part");
        Files.writeString(part, stamp());
        Files.move(part, dir.resolve(STAMP), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Why {@code dir} cannot stand in for the jar's libraries, or null when it can. */
    static String problem(Path dir) {
        try {
            Path stamp = dir.resolve(STAMP);
            if (!Files.isRegularFile(stamp)) {
                return "no " + STAMP + " there (not unpacked, or unpacking did not finish)";
            }
            String expected = stamp();
            if (!Files.readString(stamp).equals(expected)) {
                return "they are not this jar's (an upgrade without systemd/install.sh?)";
            }
            for (String line : expected.split("\n")) {
                String[] f = line.split(" ");
                Path file = dir.resolve(f[0]);
                if (!Files.isRegularFile(file) || Files.size(file) != Long.parseLong(f[1])) {
                    return file.getFileName() + " is missing or has another size than the jar's " + f[1] + " bytes";
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot read them: " + e.getMessage();
        }
    }

    /** "name size crc32" of each library as the jar holds it: from the jar's directory, without reading it. */
    private static String stamp() throws IOException {
        StringBuilder out = new StringBuilder();
        for (String library : LIBRARIES) {
            URLConnection connection = resource(library).openConnection();
            long size;
            long crc;
            if (connection instanceof JarURLConnection jar) {
                size = jar.getJarEntry().getSize();
                crc = jar.getJarEntry().getCrc();
            } else {
                CRC32 sum = new CRC32();
                size = 0;
                try (InputStream in = connection.getInputStream()) {
                    byte[] buffer = new byte[1 << 16];
                    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                        sum.update(buffer, 0, n);
                        size += n;
                    }
                }
                crc = sum.getValue();
            }
            out.append(library).append(' ').append(size).append(' ').append(Long.toHexString(crc)).append('\n');
        }
        return out.toString();
    }

    /** The library in the jar, where ONNX Runtime's own loader looks for it on this OS and architecture. */
    private static URL resource(String library) throws IOException {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String platform = arch.startsWith("amd64") || arch.startsWith("x86_64") ? "linux-x64"
                : arch.startsWith("aarch64") ? "linux-aarch64" : "linux-" + arch;
        String name = "/ai/onnxruntime/native/" + platform + "/" + library;
        URL url = StartCache.class.getResource(name);
        if (url == null) {
            throw new IOException("this jar has no " + name + ": ONNX Runtime is packed for linux-x64 and "
                    + "linux-aarch64 only, and this machine is " + System.getProperty("os.name") + " " + arch);
        }
        return url;
    }

    /**
     * Writes {@code archive} from a run of {@code plateau run -c config} with the unit's JVM flags on
     * this JVM's class path, using the libraries in {@code natives}: until its first result and
     * {@link #AFTER_FIRST_RESULT} more, then SIGTERM, on which the JVM writes the archive as it exits.
     * Returns how long the run took; the archive is replaced only by a complete one.
     */
    public static Duration train(Path archive, Path natives, Path config)
            throws IOException, InterruptedException {
        Path part = archive.resolveSibling(archive.getFileName() + ".part");
        Files.deleteIfExists(part);
        List<String> flags = new ArrayList<>();
        flags.add("-XX:ArchiveClassesAtExit=" + part);
        flags.add("-D" + NATIVE_DIR_PROPERTY + "=" + natives);
        long start = System.nanoTime();
        Process process = new ProcessBuilder(Footprint.command(System.getProperty("java.class.path"), flags,
                Footprint.CLI_MAIN, "run", "-c", config.toString())).redirectErrorStream(true).start();
        CountDownLatch answered = new CountDownLatch(1);
        Deque<String> tail = new ArrayDeque<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.contains(FIRST_RESULT)) {
                        answered.countDown();
                    }
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > 20) {
                            tail.removeFirst();
                        }
                    }
                }
            } catch (IOException e) {
                // the child is gone; its exit status says the rest
            }
        }, "start-cache-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!answered.await(2, TimeUnit.MINUTES)) {
                throw new IOException("the training run of " + config + " gave no result in 2 minutes"
                        + (process.isAlive() ? "" : " (exit status " + process.exitValue() + ")") + "; its last "
                        + "lines:\n" + lastLines(tail));
            }
            Thread.sleep(AFTER_FIRST_RESULT.toMillis());
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                throw new IOException("the training run of " + config + " did not stop within 60 s of SIGTERM");
            }
            reader.join(5_000);
            if (process.exitValue() != 0 || !Files.isRegularFile(part) || Files.size(part) == 0) {
                throw new IOException("the training run of " + config + " exited " + process.exitValue()
                        + (Files.isRegularFile(part) ? "" : " without writing the archive") + "; its last lines:\n"
                        + lastLines(tail));
            }
            Files.move(part, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return Duration.ofNanos(System.nanoTime() - start);
        } finally {
            process.destroyForcibly();
            Files.deleteIfExists(part);
        }
    }

    private static String lastLines(Deque<String> tail) {
        synchronized (tail) {
            return String.join("\n", tail);
        }
    }
}
