package dev.plateau.fleet;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.tinylog.Logger;

/**
 * Sends queued events while connected, at most {@link #WINDOW} unacknowledged at once, and
 * removes each from the outbox when its PUBACK arrives. An event unacknowledged for
 * {@link #RESEND_AFTER} is sent again: a duplicate under the same eventId is harmless, a lost
 * event is not. A lost connection fails its unacknowledged publishes (see {@link PahoLink}), so
 * after a reconnect, to the same broker or to one that lost every session, they go again at once.
 * Runs on the link's thread only.
 */
final class OutboxPump {
    static final int WINDOW = 8;
    static final Duration RESEND_AFTER = Duration.ofSeconds(60);

    private final Outbox outbox;
    private final FleetLink link;
    private final Topics topics;
    private final Clock clock;
    private final Map<Long, Instant> inflight = new HashMap<>();

    OutboxPump(Outbox outbox, FleetLink link, Topics topics, Clock clock) {
        this.outbox = outbox;
        this.link = link;
        this.topics = topics;
        this.clock = clock;
    }

    void pump() {
        if (!link.isConnected()) {
            return;
        }
        Instant now = clock.instant();
        for (Outbox.Event event : outbox.pending()) {
            if (inflight.size() >= WINDOW) {
                return;
            }
            Instant sent = inflight.get(event.seq());
            if (sent != null && sent.plus(RESEND_AFTER).isAfter(now)) {
                continue;
            }
            byte[] payload;
            try {
                payload = outbox.payload(event);
            } catch (FleetException e) {
                Logger.error(e, "fleet: event {} unreadable; left in the outbox", event.eventId());
                continue;
            }
            Instant sentAt = now;
            inflight.put(event.seq(), sentAt);
            link.publish(topics.event(event.type()), payload, 1, false, null).whenComplete((ok, failure) -> {
                // A late outcome of an earlier send must not free a later send's place.
                inflight.remove(event.seq(), sentAt);
                if (failure == null) {
                    acknowledged(event);
                } else {
                    Logger.debug("fleet: event {} not delivered yet: {}", event.eventId(), failure.getMessage());
                }
            });
        }
    }

    private void acknowledged(Outbox.Event event) {
        try {
            outbox.delivered(event);
        } catch (FleetException e) {
            Logger.error(e, "fleet: event {} delivered but its file stays; it will be sent again", event.eventId());
        }
        pump();
    }
}
