package dev.plateau.daemon;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.tinylog.provider.ProviderRegistry;

/**
 * SIGTERM and SIGINT (through the JVM's shutdown hook) as a latch the main thread waits on. The
 * main thread stops the daemon in order; the hook waits for that and then ends the process with
 * status 0, which is what systemd expects of a clean stop (a JVM ended by a signal exits 143).
 */
public final class Termination {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean exitingOnItsOwn;

    private Termination() {}

    /** Installs the hook; call once, before the daemon starts. */
    public static Termination install(long stopTimeoutMillis) {
        Termination t = new Termination();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> t.onSignal(stopTimeoutMillis), "plateau-shutdown"));
        return t;
    }

    private void onSignal(long stopTimeoutMillis) {
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
