package dev.plateau.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs {@code models/training/bench_head_torch.py} as a child process, on one thread, with
 * OpenBLAS put first on the library path when Debian's {@code libopenblas0-pthread} is installed
 * (Debian's torch otherwise runs on the reference BLAS, which is no peer to compare against).
 */
final class TorchPeer {
    /** The interpreter the peer needs; absent or without torch, the comparison is skipped. */
    static final Path PYTHON = Path.of("/usr/bin/python3");
    /** Where Debian's multiarch library directories are; each may hold an {@code openblas-pthread/}. */
    private static final Path LIB_ROOT = Path.of("/usr/lib");
    private static final String OPENBLAS_DIR = "openblas-pthread";
    /** Enough for the warm-up and every run of a few thousand steps on a slow BLAS. */
    private static final long TIMEOUT_SECONDS = 600;
    /** Below this a 1024x1024 matmul is not an optimised BLAS on any recent x86 or ARM core. */
    static final double OPTIMISED_GFLOPS = 15;
    /** Importing torch reads a few hundred MB of libraries from a cold disk. */
    private static final long PROBE_SECONDS = 60;

    /** What the peer reported. */
    record Result(double medianMillis, List<Double> runsMillis, double finalLoss, String torchVersion,
                  List<String> blasBuild, List<String> blasLoaded, double matmulGflops, String libraryPath) {
        boolean optimisedBlas() {
            return matmulGflops >= OPTIMISED_GFLOPS;
        }
    }

    private TorchPeer() {}

    /** The OpenBLAS directory of {@code libopenblas0-pthread}, when installed. */
    static Optional<Path> openBlasDirectory() {
        if (!Files.isDirectory(LIB_ROOT)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(LIB_ROOT)) {
            return dirs.map(d -> d.resolve(OPENBLAS_DIR))
                    .filter(d -> Files.isRegularFile(d.resolve("libblas.so.3")))
                    .sorted()
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Why the peer cannot run here, or empty when it can: {@link #PYTHON} missing, or without the
     * modules the script imports (Debian's {@code python3-torch} brings both).
     */
    static Optional<String> unavailable() throws IOException, InterruptedException {
        if (!Files.isExecutable(PYTHON)) {
            return Optional.of(PYTHON + " is missing");
        }
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import numpy, torch")
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return Optional.of(PYTHON + " did not import torch within " + PROBE_SECONDS + " s");
        }
        if (p.exitValue() == 0) {
            return Optional.empty();
        }
        String[] lines = new String(out, StandardCharsets.UTF_8).strip().split("\n");
        return Optional.of(PYTHON + " has no torch (" + lines[lines.length - 1].strip()
                + "; apt-get install python3-torch)");
    }

    /**
     * Runs {@code script} on {@code data}, where {@link #unavailable()} found nothing missing. A
     * failure of the script (a bad file, a crash) is an exception with its standard error.
     */
    static Result run(Path script, Path data, int steps, int batch, List<String> adam, int repeats)
            throws IOException, InterruptedException {
        if (!Files.isRegularFile(script)) {
            throw new IllegalArgumentException("--torch-script: no such file: " + script);
        }
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString(), data.toString(),
                "--steps", Integer.toString(steps), "--batch", Integer.toString(batch),
                "--repeats", Integer.toString(repeats)));
        cmd.addAll(adam);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        Optional<Path> blas = openBlasDirectory();
        blas.ifPresent(d -> pb.environment().merge("LD_LIBRARY_PATH", d.toString(), (old, add) -> add + ":" + old));
        Path err = Files.createTempFile("plateau-torch", ".err");
        try {
            pb.redirectError(err.toFile());
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("torch peer: no result after " + TIMEOUT_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                String stderr = Files.readString(err, StandardCharsets.UTF_8).strip();
                throw new IOException("torch peer: exit " + p.exitValue() + ": "
                        + stderr.substring(Math.max(0, stderr.length() - 600)));
            }
            JsonNode j = JsonMapper.builder().build().readTree(out);
            List<Double> runs = new ArrayList<>();
            j.get("runs_ms").forEach(v -> runs.add(v.asDouble()));
            JsonNode b = j.get("blas");
            return new Result(j.get("median_ms").asDouble(), List.copyOf(runs),
                    j.get("final_loss").asDouble(), j.get("torch").asText(), strings(b.get("build")),
                    strings(b.get("loaded")), b.get("matmul_1024_gflops").asDouble(),
                    blas.map(Path::toString).orElse(""));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asText()));
        return List.copyOf(out);
    }
}
