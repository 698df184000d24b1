package dev.plateau.faults;

import dev.plateau.fleet.Outbox;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * The child of {@link PowerLossTest}'s outbox trials: stores events in a real outbox as fast as it
 * can and prints each event's id (\"stored ID\") once {@link Outbox#add} has returned, that is once the outbox has
 * acknowledged it as durable, and \"delivering ID\" before it removes one as the pump does
 * after the broker's acknowledgement, until it is killed.
 */
public final class OutboxWorker {
    private OutboxWorker() {}

    public static void main(String[] args) {
        Outbox outbox = Outbox.open(Path.of(args[0]), 100_000, Clock.systemUTC());
        System.out.println("ready " + outbox.size());
        System.out.flush();
        for (long n = 0; ; n++) {
            Outbox.Added added = outbox.add(n % 7 == 0 ? "model-activated" : "input-rejected",
                    n % 7 == 0 ? Outbox.Kind.DECISION : Outbox.Kind.HEALTH,
                    Map.of("n", n, "padding", "x".repeat((int) (n % 2048))));
            System.out.println("stored " + added.stored().orElseThrow().eventId());
            System.out.flush();
            if (n % 5 == 0) {
                // As the pump does once the broker acknowledged an event.
                Outbox.Event first = outbox.pending().get(0);
                System.out.println("delivering " + first.eventId());
                System.out.flush();
                outbox.delivered(first);
            }
        }
    }
}
