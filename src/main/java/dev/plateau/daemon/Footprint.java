package dev.plateau.daemon;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.model.Manifest;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.ModelStore;
import dev.plateau.tuning.FineTune;
import dev.plateau.tuning.IdleThread;
import dev.plateau.tuning.TuningConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the daemon costs in memory and start time, beside the least any program running the same
 * models on ONNX Runtime costs: {@code plateau run -c CONFIG} as a child JVM with the systemd
 * unit's flags, and a bare JVM with the same flags that loads the config's models into ONNX
 * Runtime sessions, runs each once and waits ({@link Bare}); and what one fine-tune adds
 * ({@link TuneChild}). Resident memory is read from {@code /proc/PID/status}, once a second.
 */
public final class Footprint {
    /**
     * The JVM flags of {@code systemd/plateau.service} (its PLATEAU_JAVA_MEMORY and the rest of
     * ExecStart) but the archive's path, which a measurement makes its own ({@link StartCache}).
     */
    public static final List<String> UNIT_JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:MinHeapFreeRatio=10",
            "-XX:MaxHeapFreeRatio=20", "-XX:TrimNativeHeapInterval=5000", "-Xms8m", "-Xmx160m", "-Xss512k", "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=48m", "-XX:MaxDirectMemorySize=32m",
            "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData");

    static final String BARE_READY = "bare: ready";
    static final String BARE_RESULT = "bare: first result";
    private static final String DAEMON_READY = "plateau ready";
    private static final String DAEMON_RESULT = " result source=";
    /** The CLI's entry point, named without depending on the {@code cli} package. */
    static final String CLI_MAIN = "dev.plateau.cli.Main";

    /** Resident memory at a time after the start. */
    public record Sample(double seconds, long rssKib) {}

    /**
     * One process over its run: start (process creation) to ready and to its first result, in ms
     * ({@code -1}: never seen), resident memory over time, its kernel-reported peak, and the growth
     * over the second half of the run in percent ({@link #growth}).
     */
    public record Run(String what, long readyMillis, long firstResultMillis, List<Sample> rss, long peakRssKib,
                      double secondHalfGrowthPercent) {}

    private Footprint() {}

    /**
     * The runs of one measurement. With the start cache, both had ONNX Runtime's libraries
     * unpacked once beforehand and the daemon an AppCDS archive from a training run, as {@code
     * systemd/install.sh} makes them ({@link StartCache}); {@code archive} says how it was made, or
     * why there was none.
     */
    public record Measurement(boolean startCache, String archive, List<Run> runs) {}

    /**
     * The daemon on {@code config}, then the bare runtime on the same models, each for {@code
     * seconds}; with {@code startCache}, first the unpacked libraries and the archive in a temporary
     * directory, removed afterwards.
     */
    public static Measurement measure(Path config, double seconds, boolean startCache)
            throws IOException, InterruptedException {
        String classPath = System.getProperty("java.class.path");
        Path cache = startCache ? Files.createTempDirectory("plateau-start-cache") : null;
        try {
            List<String> daemonFlags = new ArrayList<>();
            List<String> bareFlags = new ArrayList<>();
            String archive = "none";
            if (cache != null) {
                Path natives = cache.resolve("native");
                StartCache.unpack(natives);
                bareFlags.add("-D" + StartCache.NATIVE_DIR_PROPERTY + "=" + natives);
                daemonFlags.addAll(bareFlags);
                String directory = java.util.Arrays.stream(classPath.split(java.io.File.pathSeparator))
                        .filter(e -> Files.isDirectory(Path.of(e))).findFirst().orElse(null);
                if (directory != null) {
                    archive = "none: the class path has a directory (" + directory + "), which an archive cannot "
                            + "hold; run from the jar";
                } else {
                    Path file = cache.resolve("plateau.jsa");
                    double took = StartCache.train(file, natives, config).toMillis() / 1e3;
                    daemonFlags.add("-XX:SharedArchiveFile=" + file);
                    archive = String.format(java.util.Locale.ROOT, "from a %.1f s training run on the config", took);
                }
            }
            List<Run> runs = new ArrayList<>();
            runs.add(run("plateau run", command(classPath, daemonFlags, CLI_MAIN, "run", "-c", config.toString()),
                    seconds, DAEMON_READY, DAEMON_RESULT));
            runs.add(run("bare JVM + ONNX Runtime", command(classPath, bareFlags, Bare.class.getName(),
                    config.toString()), seconds, BARE_READY, BARE_RESULT));
            return new Measurement(startCache, archive, List.copyOf(runs));
        } finally {
            if (cache != null) {
                try (var files = Files.walk(cache)) {
                    for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    /** {@code java}, the unit's flags and {@code flags}, then {@code mainClass} on {@code classPath}. */
    static List<String> command(String classPath, List<String> flags, String mainClass, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(UNIT_JVM_FLAGS);
        command.addAll(flags);
        command.addAll(List.of("-cp", classPath, mainClass));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * What one fine-tune added to a JVM with the unit's flags that holds the config's models, each
     * warmed up on the data: resident memory settled before it, and the kernel's peak during it
     * (the peak is reset just before), in KiB.
     */
    public record FineTuneMemory(String model, Path data, long rssBeforeKib, long peakKib, long millis,
                                 String outcome) {
        public long addedKib() {
            return peakKib - rssBeforeKib;
        }
    }

    /** {@link TuneChild} on {@code model} of {@code config}, fine-tuned on {@code data}, as a child JVM. */
    public static FineTuneMemory fineTune(Path config, String model, Path data, boolean startCache)
            throws IOException, InterruptedException {
        Path natives = startCache ? Files.createTempDirectory("plateau-start-cache") : null;
        try {
            List<String> flags = new ArrayList<>();
            if (natives != null) {
                StartCache.unpack(natives);
                flags.add("-D" + StartCache.NATIVE_DIR_PROPERTY + "=" + natives);
            }
            Process process = new ProcessBuilder(command(System.getProperty("java.class.path"), flags,
                    TuneChild.class.getName(), config.toString(), model, data.toString()))
                    .redirectErrorStream(true).start();
            List<String> lines = new ArrayList<>();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            }
            process.waitFor();
            String result = lines.stream().filter(l -> l.startsWith(TuneChild.RESULT)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("the fine-tune child exited " + process.exitValue()
                            + " without a result:\n" + String.join("\n", lines)));
            String[] f = result.substring(TuneChild.RESULT.length()).split(" ");
            return new FineTuneMemory(model, data, Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
                    f[3]);
        } finally {
            if (natives != null) {
                DurableFiles.deleteTree(natives);
            }
        }
    }

    private static Run run(String what, List<String> command, double seconds, String ready, String result)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        AtomicLong readyAt = new AtomicLong(-1);
        AtomicLong resultAt = new AtomicLong(-1);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    long ms = (System.nanoTime() - start) / 1_000_000;
                    if (line.contains(ready)) {
                        readyAt.compareAndSet(-1, ms);
                    }
                    if (line.contains(result)) {
                        resultAt.compareAndSet(-1, ms);
                    }
                }
            } catch (IOException e) {
                // the child is gone; what was read counts
            }
        }, "footprint-reader");
        reader.setDaemon(true);
        reader.start();
        List<Sample> rss = new ArrayList<>();
        long peak = 0;
        try {
            long end = start + (long) (seconds * 1e9);
            for (long next = start; System.nanoTime() < end && process.isAlive(); ) {
                next += 1_000_000_000L;
                Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000));
                Map<String, Long> status = status(process.pid());
                if (status.isEmpty()) {
                    break;
                }
                rss.add(new Sample((System.nanoTime() - start) / 1e9, status.getOrDefault("VmRSS", 0L)));
                peak = Math.max(peak, status.getOrDefault("VmHWM", 0L));
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(what + " exited " + process.exitValue() + " during the measurement");
            }
        } finally {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        return new Run(what, readyAt.get(), resultAt.get(), List.copyOf(rss), peak, growth(rss));
    }

    /**
     * The median RSS of the run's last tenth over the median of the tenth that starts at its
     * middle, in percent above 100. Medians, not single samples: the JIT compiler's arenas lift
     * RSS by 15-30 MiB for 2-4 s now and then, and a spike in the last second must not count as
     * growth, nor one at the middle hide it.
     */
    static double growth(List<Sample> rss) {
        if (rss.size() < 4) {
            return Double.NaN;
        }
        int tenth = Math.max(1, rss.size() / 10);
        int middle = rss.size() / 2;
        double from = median(rss.subList(middle, Math.min(rss.size(), middle + tenth)));
        double to = median(rss.subList(rss.size() - tenth, rss.size()));
        return (to - from) * 100.0 / from;
    }

    private static double median(List<Sample> samples) {
        long[] kib = samples.stream().mapToLong(Sample::rssKib).sorted().toArray();
        int n = kib.length;
        return n % 2 == 1 ? kib[n / 2] : (kib[n / 2 - 1] + kib[n / 2]) / 2.0;
    }

    /** The kB fields of {@code /proc/PID/status}; empty when the process is gone. */
    private static Map<String, Long> status(long pid) {
        try {
            Map<String, Long> out = new java.util.HashMap<>();
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.endsWith(" kB")) {
                    out.put(line.substring(0, colon), Long.parseLong(line.substring(colon + 1, line.length() - 3).strip()));
                }
            }
            return out;
        } catch (IOException | NumberFormatException e) {
            return Map.of();
        }
    }

    /**
     * The baseline: the config's models in ONNX Runtime sessions (the shared pool, as the daemon
     * sets it), each run once on zeros, then nothing until killed.
     */
    public static final class Bare {
        private Bare() {}

        public static void main(String[] args) throws InterruptedException {
            LogSetup.forCommand();
            StartCache.use();
            StartCache.warnIfUnused();
            // On a large stack, as every plateau command: see OrtRuntime.CALLER_STACK_BYTES.
            Thread main = new Thread(null, () -> {
                try {
                    run(Path.of(args[0]));
                } catch (OrtException e) {
                    throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bare-main", OrtRuntime.CALLER_STACK_BYTES);
            main.start();
            main.join();
        }

        private static void run(Path configFile) throws OrtException, InterruptedException {
            DeviceConfig config = ConfigLoader.load(configFile);
            List<ModelBundle> bundles = new ArrayList<>();
            for (DeviceConfig.ModelConfig model : config.models()) {
                bundles.add(ModelBundle.open(model.bundle()));
            }
            OrtEnvironment env = OrtRuntime.environment(config.inference().threads());
            List<OrtSession> sessions = new ArrayList<>();
            List<Manifest> manifests = new ArrayList<>();
            for (ModelBundle bundle : bundles) {
                OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                sessions.add(env.createSession(bundle.dir().resolve("model.onnx").toString(), options));
                manifests.add(bundle.manifest());
            }
            System.out.println(BARE_READY);
            for (int i = 0; i < sessions.size(); i++) {
                Manifest m = manifests.get(i);
                long[] shape = new long[m.input().shape().size() + 1];
                shape[0] = 1;
                for (int d = 1; d < shape.length; d++) {
                    shape[d] = m.input().shape().get(d - 1);
                }
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.allocate(m.input().sampleSize()), shape);
                     OrtSession.Result r = sessions.get(i).run(Map.of(m.input().tensor(), in))) {
                    if (r.size() == 0) {
                        throw new IllegalStateException(m.name() + " gave no output");
                    }
                }
            }
            System.out.println(BARE_RESULT);
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /**
     * {@code TuneChild CONFIG MODEL DATA}: loads every model of CONFIG into an inference engine as
     * the daemon does, warms MODEL up on DATA's first files, lets the heap settle, then runs one
     * fine-tune of MODEL on DATA into a throw-away store exactly as the daemon's {@code finetune}
     * command does (on a thread at idle priority, the model's tuning defaults) and prints
     * {@link #RESULT} with resident KiB before, the peak KiB during, milliseconds and the decision.
     */
    public static final class TuneChild {
        static final String RESULT = "finetune-memory: ";
        private static final int WARM_UP_FILES = 50;

        private TuneChild() {}

        public static void main(String[] args) throws InterruptedException {
            LogSetup.forCommand();
            StartCache.use();
            StartCache.warnIfUnused();
            int[] status = {1};
            Thread main = new Thread(null, () -> {
                try {
                    run(Path.of(args[0]), args[1], Path.of(args[2]));
                    status[0] = 0;
                } catch (IOException | InputRejectedException | RuntimeException e) {
                    System.out.println("the fine-tune failed: " + e);
                }
            }, "tune-child-main", OrtRuntime.CALLER_STACK_BYTES);
            main.start();
            main.join();
            System.exit(status[0]);
        }

        private static void run(Path configFile, String model, Path data) throws IOException, InputRejectedException {
            DeviceConfig config = ConfigLoader.load(configFile);
            OrtEnvironment env = OrtRuntime.environment(config.inference().threads());
            List<InferenceEngine> engines = new ArrayList<>();
            Path state = Files.createTempDirectory("plateau-tune-child");
            try {
                ModelBundle tuned = null;
                for (DeviceConfig.ModelConfig m : config.models()) {
                    ModelBundle bundle = ModelBundle.open(m.bundle());
                    InferenceEngine engine = InferenceEngine.load(bundle, env, 0);
                    engines.add(engine);
                    if (m.name().equals(model)) {
                        tuned = bundle;
                        try (var files = Files.walk(data)) {
                            for (Path file : files.filter(Files::isRegularFile).sorted().limit(WARM_UP_FILES).toList()) {
                                engine.infer(file);
                            }
                        }
                    }
                }
                if (tuned == null) {
                    throw new IllegalArgumentException("no model '" + model + "' in " + configFile);
                }
                System.gc();
                Thread.sleep(1_000);
                long before = status(ProcessHandle.current().pid()).get("VmRSS");
                Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // resets VmHWM to the current RSS
                ModelStore store = ModelStore.signedByDevice(state, Clock.systemUTC(), ModelStore.KEEP_LAST);
                long start = System.nanoTime();
                ModelBundle bundle = tuned;
                FineTune.Outcome outcome = IdleThread.run("plateau-finetune",
                        () -> new FineTune(ModelBundle.open(bundle.dir()), store, TuningConfig.defaults(),
                                Clock.systemUTC()).run(data, null));
                long millis = (System.nanoTime() - start) / 1_000_000;
                long peak = status(ProcessHandle.current().pid()).get("VmHWM");
                System.out.println(RESULT + before + " " + peak + " " + millis + " "
                        + (outcome.accepted() ? "accepted" : "rejected"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                engines.forEach(InferenceEngine::close);
                DurableFiles.deleteTree(state);
            }
        }
    }
}
