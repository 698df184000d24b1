package dev.plateau.tuning;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * Runs work on a thread of its own that the kernel schedules only when no other thread of the
 * machine wants the CPU: Linux's {@code SCHED_IDLE}, set on that one thread with {@code chrt}.
 * A fine-tune on the device runs so, beside inference that must keep its latency.
 *
 * <p>Java cannot do this itself: {@link Thread#setPriority} has no effect on Linux unless the JVM
 * runs as root with a non-default priority policy. A Linux thread is a task of its own, and
 * {@code chrt --idle --pid 0 TID} changes that task alone; the threads it starts later inherit the
 * policy. No privilege is needed to lower one's own priority, and systemd's
 * {@code RestrictRealtime=} forbids only the real-time policies. Where {@code chrt} is missing or
 * refused the work still runs, at normal priority, and the log says so once.
 */
public final class IdleThread {
    /** How the work's thread ended up being scheduled: for the log and the benchmark. */
    public enum Scheduling { IDLE, NORMAL }

    private static final AtomicReference<String> WARNED = new AtomicReference<>();

    private IdleThread() {}

    /**
     * Runs {@code work} on a new thread named {@code name} at idle priority and waits for it; its
     * exception is rethrown here. An interrupt of the caller is passed on to the worker, which is
     * waited for, and restored.
     */
    public static <T> T run(String name, Supplier<T> work) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread worker = new Thread(() -> {
            try {
                lowerThisThread();
                result.set(work.get());
            } catch (RuntimeException | Error e) {
                failure.set(e);
            }
        }, name);
        worker.setPriority(Thread.MIN_PRIORITY);
        worker.start();
        try {
            worker.join();
        } catch (InterruptedException e) {
            worker.interrupt();
            joinUninterruptibly(worker);
            Thread.currentThread().interrupt();
        }
        if (failure.get() instanceof RuntimeException r) {
            throw r;
        }
        if (failure.get() instanceof Error err) {
            throw err;
        }
        return result.get();
    }

    /** Puts the calling thread under {@code SCHED_IDLE}; what it achieved. */
    public static Scheduling lowerThisThread() {
        String why;
        try {
            long tid = currentTid();
            Process chrt = new ProcessBuilder(List.of("chrt", "--idle", "--pid", "0", Long.toString(tid)))
                    .redirectErrorStream(true).start();
            chrt.getOutputStream().close();
            String output = new String(chrt.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .strip();
            if (!chrt.waitFor(5, TimeUnit.SECONDS)) {
                chrt.destroyForcibly();
                why = "chrt did not answer in 5 s";
            } else if (chrt.exitValue() == 0) {
                return Scheduling.IDLE;
            } else {
                why = "chrt exited " + chrt.exitValue() + (output.isEmpty() ? "" : ": " + output);
            }
        } catch (IOException | UnsupportedOperationException e) {
            why = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted";
        }
        if (WARNED.compareAndSet(null, why)) {
            Logger.warn("background work runs at normal CPU priority, beside inference: cannot set SCHED_IDLE ({});"
                    + " expected util-linux's chrt on the PATH", why);
        }
        return Scheduling.NORMAL;
    }

    /** The kernel's id of the calling thread, from {@code /proc/thread-self -> PID/task/TID}. */
    static long currentTid() throws IOException {
        Path self = Files.readSymbolicLink(Path.of("/proc/thread-self"));
        return Long.parseLong(self.getFileName().toString());
    }

    /** The scheduling policy of a thread of this process, as {@code /proc} shows it ({@code 5}: SCHED_IDLE). */
    static int policy(long tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        // Fields after the command name, which is in parentheses and may hold spaces; policy is field 41.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[41 - 3]);
    }

    private static void joinUninterruptibly(Thread worker) {
        while (true) {
            try {
                worker.join();
                return;
            } catch (InterruptedException again) {
                // the worker was asked to stop; wait for it to do so
            }
        }
    }
}
