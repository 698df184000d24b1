package dev.plateau.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real file systems for disk tests: a small tmpfs that fills up, and a directory that cannot be
 * written. Both need root for mount(8) (root ignores permission bits, so only a read-only mount
 * makes a directory unwritable for it); without root the read-only one falls back to chmod, and
 * a test that needs a mount the system refuses is skipped with the reason. Close to unmount.
 */
public final class Mounts implements AutoCloseable {
    private final List<Path> mounted = new ArrayList<>();
    private final List<Path> chmodded = new ArrayList<>();

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Mounts a tmpfs of {@code size} (mount's syntax, e.g. {@code 2m}) on {@code dir}, created if missing. */
    public Path tmpfs(Path dir, String size) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String failed = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "tmpfs", dir.toString());
        assumeTrue(failed == null, "a tmpfs cannot be mounted here (needs root): " + failed);
        mounted.add(0, dir);
        return dir;
    }

    /** Makes {@code dir} (existing, with its content) read-only: a read-only bind mount as root, else chmod a-w. */
    public Path readOnly(Path dir) throws IOException, InterruptedException {
        if (root()) {
            String failed = run("mount", "--bind", dir.toString(), dir.toString());
            assumeTrue(failed == null, "a bind mount is refused here: " + failed);
            mounted.add(0, dir);
            failed = run("mount", "-o", "remount,ro,bind", dir.toString());
            assumeTrue(failed == null, "a read-only remount is refused here: " + failed);
        } else {
            String failed = run("chmod", "-R", "a-w", dir.toString());
            assumeTrue(failed == null, "chmod failed: " + failed);
            chmodded.add(dir);
        }
        return dir;
    }

    /** Fills the file system of {@code dir} until a write fails for lack of space; returns the filler file. */
    public static Path fill(Path dir) throws IOException {
        Path filler = dir.resolve("filler.bin");
        byte[] block = new byte[64 * 1024];
        try (var out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
        return filler;
    }

    /** Runs a command; null when it exited 0, else what it printed. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", command) + ": timed out";
        }
        return p.exitValue() == 0 ? null : String.join(" ", command) + ": exit " + p.exitValue() + ": " + output;
    }

    @Override
    public void close() throws IOException {
        try {
            undo();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unmounting " + mounted, e);
        }
    }

    private void undo() throws IOException, InterruptedException {
        for (Path dir : mounted) {
            String failed = run("umount", dir.toString());
            if (failed != null) {
                // Still busy (a child not yet gone): detach it, so the temporary directory can go.
                run("umount", "-l", dir.toString());
            }
        }
        mounted.clear();
        for (Path dir : chmodded) {
            run("chmod", "-R", "u+w", dir.toString());
        }
        chmodded.clear();
    }
}
