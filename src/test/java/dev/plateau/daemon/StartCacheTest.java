package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.TinyDevice;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ONNX Runtime's libraries unpacked once, as install.sh does, and used only when they are this jar's. */
class StartCacheTest {
    @TempDir
    Path tmp;

    /** Where the running child has ONNX Runtime's library mapped from, read from /proc/PID/maps. */
    private static String mappedFrom(ChildJvm child) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + child.process().pid() + "/maps")).stream()
                .filter(l -> l.contains("libonnxruntime.so")).map(l -> l.substring(l.indexOf('/')))
                .findFirst().orElse("(not mapped)");
    }

    private String runAndSeeWhere(Path natives) throws Exception {
        Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
        ChildJvm child = ChildJvm.start(List.of("-D" + StartCache.NATIVE_DIR_PROPERTY + "=" + natives,
                "-Djava.io.tmpdir=" + javaTmp), Map.of(), "dev.plateau.cli.Main", "run", "-c",
                TinyDevice.config(tmp, null).toString());
        try {
            assertTrue(child.awaitLine("plateau ready", 30), String.join("\n", child.lines()));
            return mappedFrom(child) + "\n" + String.join("\n", child.lines());
        } finally {
            child.process().destroy();
            assertTrue(child.process().waitFor(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void unpacked_daemonLoadsThem_andNotItsOwnCopyInTmp() throws Exception {
        Path natives = tmp.resolve("native");
        StartCache.unpack(natives);
        assertNull(StartCache.problem(natives));

        String seen = runAndSeeWhere(natives);
        assertTrue(seen.startsWith(natives.resolve("libonnxruntime.so").toString() + "\n"), seen);
        assertTrue(!seen.contains("are not used"), seen);
    }

    @Test
    void notThisJarsLibraries_saysWhy_andOnnxRuntimeUnpacksItsOwn() throws Exception {
        Path natives = tmp.resolve("native");
        StartCache.unpack(natives);
        // As after a jar upgrade without install.sh: the libraries of another ONNX Runtime.
        Path stamp = natives.resolve("libraries.txt");
        Files.writeString(stamp, Files.readString(stamp).replaceFirst(" [0-9a-f]+\n", " 1234abcd\n"));
        String problem = StartCache.problem(natives);
        assertTrue(problem != null && problem.contains("not this jar's"), problem);

        String seen = runAndSeeWhere(natives);
        assertTrue(!seen.startsWith(natives.toString()), seen);
        assertTrue(seen.contains("ONNX Runtime's libraries in " + natives + " are not used: they are not this jar's"),
                seen);
    }

    /**
     * install.sh's step on a jar: unpack, train an archive on a config, and a daemon start then
     * takes its own classes from the archive. The test's class path has target/classes, which an
     * archive cannot hold, so those classes go into a jar here first.
     */
    @Test
    void main_writesAnArchive_theDaemonTakesItsClassesFromIt() throws Exception {
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!Files.isDirectory(p)) {
                classPath.add(entry);
            } else if (Files.exists(p.resolve("dev/plateau/daemon/StartCache.class"))) {
                classPath.add(0, jar(p, tmp.resolve("plateau-classes.jar")).toString());
            }
        }
        String cp = String.join(File.pathSeparator, classPath);
        Path natives = tmp.resolve("native");
        Path archive = tmp.resolve("plateau.jsa");
        Path config = TinyDevice.config(tmp, null);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();

        Process make = new ProcessBuilder(java, "-cp", cp, StartCache.class.getName(), natives.toString(),
                archive.toString(), config.toString()).redirectErrorStream(true).start();
        String made = new String(make.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(make.waitFor(120, TimeUnit.SECONDS) && make.exitValue() == 0, made);
        assertTrue(made.contains("wrote " + archive + " from a "), made);
        assertNull(StartCache.problem(natives));

        // -Xshare:on: an archive the JVM cannot use is an error, not a silent slow start.
        Process run = new ProcessBuilder(java, "-Xshare:on", "-XX:SharedArchiveFile=" + archive,
                "-Xlog:class+load=info:file=" + tmp.resolve("classes.log"), "-D" + StartCache.NATIVE_DIR_PROPERTY
                + "=" + natives, "-cp", cp, "dev.plateau.cli.Main", "run", "-c", config.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("run.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.readString(tmp.resolve("run.log")).contains("plateau ready") && run.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            run.destroy();
            run.waitFor(30, TimeUnit.SECONDS);
        }
        String log = Files.readString(tmp.resolve("run.log"));
        assertTrue(log.contains("plateau ready"), log);
        String classes = Files.readString(tmp.resolve("classes.log"));
        // "(top)": the dynamic archive, on top of the JDK's own.
        assertTrue(classes.contains("dev.plateau.daemon.Daemon source: shared objects file (top)"), log);
    }

    private static Path jar(Path classes, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             var files = Files.walk(classes)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace(File.separatorChar, '/')));
                Files.copy(file, out);
                out.closeEntry();
            }
        }
        return jar;
    }

    @Test
    void problem_namesWhatIsWrong() throws IOException {
        Path natives = tmp.resolve("native");
        assertTrue(StartCache.problem(natives).startsWith("no libraries.txt there"), StartCache.problem(natives));
        StartCache.unpack(natives);
        Path library = natives.resolve("libonnxruntime4j_jni.so");
        Files.write(library, new byte[] {0x7f, 'E', 'L', 'F'});
        assertEquals("libonnxruntime4j_jni.so is missing or has another size than the jar's", 
                StartCache.problem(natives).replaceAll(" [0-9]+ bytes$", ""));
        StartCache.unpack(natives); // unpacking again repairs it
        assertNull(StartCache.problem(natives));
    }
}
