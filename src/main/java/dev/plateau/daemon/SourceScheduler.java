package dev.plateau.daemon;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * One source's view of the shared source pool: every task the source schedules marks its
 * {@link Progress} when a run starts and ends. This sees the source's own loop, idle or not, so an
 * empty inbox is not a hang, while a run that never ends, a pool with no free thread, or a
 * periodic task that died on an {@link Error} all stop the marks; a task that dies is logged with
 * what it threw. Shutting down is the pool owner's job, not a source's.
 */
final class SourceScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final ScheduledExecutorService pool;
    private final Progress progress;

    SourceScheduler(ScheduledExecutorService pool, Progress progress) {
        this.pool = pool;
        this.progress = progress;
    }

    private Runnable marked(Runnable task, boolean periodic) {
        return () -> {
            progress.ran();
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                failed(e, periodic);
                throw e;
            } finally {
                progress.ran();
            }
        };
    }

    /**
     * A task that throws is not run again by the pool, and the pool keeps what it threw to itself:
     * say so here, where the source is known. The marks then stop and the {@link Watchdog} names
     * the source.
     */
    private void failed(Throwable e, boolean periodic) {
        if (periodic) {
            Logger.error(e, "source {}: a scheduled task failed with {} and will not run again; the watchdog will "
                    + "report the source as stalled", progress.source(), e.getClass().getName());
        } else {
            Logger.error(e, "source {}: a task failed with {}", progress.source(), e.getClass().getName());
        }
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        return pool.scheduleAtFixedRate(marked(command, true), initialDelay, period, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        return pool.scheduleWithFixedDelay(marked(command, true), initialDelay, delay, unit);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return pool.schedule(marked(command, false), delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return pool.schedule(() -> {
            progress.ran();
            try {
                return callable.call();
            } catch (RuntimeException | Error e) {
                failed(e, false);
                throw e;
            } finally {
                progress.ran();
            }
        }, delay, unit);
    }

    @Override
    public void execute(Runnable command) {
        pool.execute(marked(command, false));
    }

    @Override
    public void shutdown() {
        throw new UnsupportedOperationException("source " + progress.source() + ": the daemon owns the source pool");
    }

    @Override
    public List<Runnable> shutdownNow() {
        throw new UnsupportedOperationException("source " + progress.source() + ": the daemon owns the source pool");
    }

    @Override
    public boolean isShutdown() {
        return pool.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return pool.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return pool.awaitTermination(timeout, unit);
    }
}
