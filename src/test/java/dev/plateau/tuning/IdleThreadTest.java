package dev.plateau.tuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The fine-tune's thread really is under SCHED_IDLE, as the kernel reports it, and so are the threads it starts. */
class IdleThreadTest {
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_IDLE = 5;

    @Test
    void work_runsUnderSchedIdle_threadsItStartsToo_callerUnchanged() throws Exception {
        long caller = IdleThread.currentTid();
        AtomicLong workerTid = new AtomicLong();
        AtomicInteger childPolicy = new AtomicInteger(-1);
        int policy = IdleThread.run("idle-test", () -> {
            try {
                workerTid.set(IdleThread.currentTid());
                Thread child = new Thread(() -> {
                    try {
                        childPolicy.set(IdleThread.policy(IdleThread.currentTid()));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                child.start();
                child.join();
                return IdleThread.policy(workerTid.get());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(workerTid.get() != caller, "the work ran on the caller's thread");
        assertEquals(SCHED_IDLE, policy, "the worker's policy in /proc");
        assertEquals(SCHED_IDLE, childPolicy.get(), "a thread the work started");
        assertEquals(SCHED_OTHER, IdleThread.policy(caller), "the caller's own policy changed");
    }

    @Test
    void failure_isRethrownToTheCaller() {
        IllegalStateException thrown = new IllegalStateException("boom");
        assertSame(thrown, assertThrows(IllegalStateException.class, () -> IdleThread.run("idle-test", () -> {
            throw thrown;
        })));
        assertThrows(OutOfMemoryError.class, () -> IdleThread.run("idle-test", () -> {
            throw new OutOfMemoryError("test");
        }));
    }

    @Test
    void interruptOfTheCaller_reachesTheWork_andIsRestored() throws Exception {
        AtomicInteger sawInterrupt = new AtomicInteger();
        Thread caller = new Thread(() -> {
            IdleThread.run("idle-test", () -> {
                try {
                    Thread.sleep(30_000);
                } catch (InterruptedException e) {
                    sawInterrupt.incrementAndGet();
                }
                return null;
            });
            sawInterrupt.addAndGet(Thread.currentThread().isInterrupted() ? 10 : 0);
        });
        caller.start();
        Thread.sleep(300);
        caller.interrupt();
        caller.join(10_000);
        assertEquals(11, sawInterrupt.get(), "1: the work saw the interrupt, 10: the caller's flag restored");
    }
}
