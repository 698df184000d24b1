package dev.plateau.daemon;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;
import org.tinylog.provider.ProviderRegistry;

/**
 * SIGTERM and SIGINT as a latch the main thread waits on; the main thread then stops the daemon
 * in order and the process exits 0, which is what systemd expects of a clean stop.
 *
 * <p>The signals are caught before the JVM starts shutting down: ONNX Runtime's Java binding
 * registers a shutdown hook that releases its environment, and hooks run in parallel, so a stop
 * done inside a hook raced in-flight inferences into a use-after-free (a SIGSEGV seen in tests).
 * Only where the JVM cannot catch the signals does the stop fall back to a hook of our own.
 */
public final class Termination {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final long stopTimeoutMillis;
    private volatile boolean exitingOnItsOwn;

    private Termination(long stopTimeoutMillis) {
        this.stopTimeoutMillis = stopTimeoutMillis;
    }

    /** Installs the handlers; call once, before the daemon starts. */
    public static Termination install(long stopTimeoutMillis) {
        Termination t = new Termination(stopTimeoutMillis);
        // SIGINT may be unavailable (ignored in a background job); SIGTERM is what systemd sends.
        Signals.handle("INT", t::request);
        if (!Signals.handle("TERM", t::request)) {
            Runtime.getRuntime().addShutdownHook(new Thread(t::stopInsideShutdown, "plateau-shutdown"));
        }
        return t;
    }

    private void request() {
        if (requested.getCount() == 0) {
            return;
        }
        requested.countDown();
        // A stop that hangs must still end the process: systemd would SIGKILL it anyway.
        Thread guard = new Thread(() -> {
            try {
                if (!stopped.await(stopTimeoutMillis, TimeUnit.MILLISECONDS)) {
                    Logger.error("stop did not finish within {} ms; halting", stopTimeoutMillis);
                    Runtime.getRuntime().halt(1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "plateau-stop-guard");
        guard.setDaemon(true);
        guard.start();
    }

    private void stopInsideShutdown() {
        if (exitingOnItsOwn) {
            return; // System.exit with the command's own status, e.g. 78 for a bad config
        }
        requested.countDown();
        boolean clean;
        try {
            clean = stopped.await(stopTimeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            clean = false;
        }
        try {
            ProviderRegistry.getLoggingProvider().shutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // halt, not exit: we are inside shutdown already, and the stop either completed or timed out.
        Runtime.getRuntime().halt(clean ? 0 : 1);
    }

    /** Blocks until SIGTERM or SIGINT. */
    public void await() throws InterruptedException {
        requested.await();
    }

    /** Says the daemon has stopped and state is flushed. */
    public void stopped() {
        exitingOnItsOwn = requested.getCount() > 0;
        stopped.countDown();
    }
}
