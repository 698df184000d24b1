package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Replies that the client refuses are sent again: after an acknowledgement (window full) or with backoff. */
class ReplySenderTest {
    final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void tearDown() {
        thread.shutdownNow();
    }

    /** A link whose publishes fail with what {@code outcomes} says, in order, then succeed. */
    static final class ScriptedLink implements FleetLink {
        final List<RuntimeException> outcomes;
        final List<String> attempts = new ArrayList<>();

        ScriptedLink(List<RuntimeException> outcomes) {
            this.outcomes = new ArrayList<>(outcomes);
        }

        @Override
        public CompletableFuture<Void> reply(String topic, byte[] payload, Optional<byte[]> correlationData) {
            attempts.add(topic);
            return outcomes.isEmpty() ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.failedFuture(outcomes.remove(0));
        }

        @Override
        public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retain, Duration expiry) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void subscribe(String filter, int qos, MessageHandler handler) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void onConnected(Runnable action) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isConnected() {
            return true;
        }

        @Override
        public void close() {}
    }

    private int sentAfter(ScriptedLink link, Duration wait) throws Exception {
        ReplySender sender = new ReplySender(link, thread, new Backoff(Duration.ofMillis(5), Duration.ofMillis(20),
                new Random(0)), Clock.systemUTC());
        thread.submit(() -> sender.send("r", new byte[0], Optional.empty(), "succeeded ping p-1")).get();
        Thread.sleep(wait.toMillis());
        return thread.schedule(() -> link.attempts.size(), 0, TimeUnit.MILLISECONDS).get();
    }

    @Test
    void send_brokerRefusesTwice_sentOnTheThirdAttempt() throws Exception {
        ScriptedLink link = new ScriptedLink(List.of(new FleetException("mqtt: publish to r failed: refused"),
                new FleetException("mqtt: publish to r failed: refused")));

        assertEquals(3, sentAfter(link, Duration.ofMillis(500)));
        assertEquals(0, link.outcomes.size());
    }

    @Test
    void send_windowFull_triedAgainWithoutCountingAnAttempt() throws Exception {
        List<RuntimeException> busy = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            busy.add(new LinkBusyException("window full", null));
        }
        ScriptedLink link = new ScriptedLink(busy);

        assertEquals(11, sentAfter(link, Duration.ofMillis(1000)));
    }

    @Test
    void send_alwaysRefused_givenUpAfterMaxAttempts() throws Exception {
        List<RuntimeException> refused = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            refused.add(new FleetException("mqtt: publish to r failed: not authorized"));
        }
        ScriptedLink link = new ScriptedLink(refused);

        assertEquals(ReplySender.MAX_ATTEMPTS, sentAfter(link, Duration.ofMillis(1000)));
    }
}
