package dev.plateau.daemon;

import dev.plateau.config.SourceConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The deck-level alarms of the daemon's sources, one {@link AlarmTracker} per source with an
 * {@code alarm} block: built as the sources start, shown per model in health and in the one-line
 * status (both lock-free), written at shutdown.
 */
final class Alarms {
    private record Entry(String source, String model, AlarmTracker tracker) {}

    private final Path stateDir;
    private final Clock clock;
    private final AlarmTracker.Events events;
    private final List<Entry> entries = new CopyOnWriteArrayList<>();

    Alarms(Path stateDir, Clock clock, AlarmTracker.Events events) {
        this.stateDir = stateDir;
        this.clock = clock;
        this.events = events;
    }

    /**
     * The alarm of {@code source} on {@code slot}'s model, when the source configures one.
     *
     * @throws IllegalArgumentException when the model is not a two-class detector with {@code output.positive}
     */
    Optional<AlarmTracker> track(SourceConfig source, ModelSlot slot) {
        if (source.alarm().isEmpty()) {
            return Optional.empty();
        }
        AlarmTracker t = AlarmTracker.open(source.name(), source.alarm().get(), slot.name(), slot.version(),
                slot.engine().manifest(), stateDir, clock, events);
        entries.add(new Entry(source.name(), slot.name(), t));
        return Optional.of(t);
    }

    /** Source name to alarm state, for the sources feeding {@code model}; empty when none has an alarm. */
    Map<String, Object> view(String model) {
        Map<String, Object> out = new LinkedHashMap<>();
        entries.stream().filter(e -> e.model().equals(model)).forEach(e -> out.put(e.source(), e.tracker().view()));
        return out;
    }

    /** Source name to whether its alarm is raised, for the sources feeding {@code model}. */
    Map<String, Boolean> raised(String model) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        entries.stream().filter(e -> e.model().equals(model)).forEach(e -> out.put(e.source(), e.tracker().raised()));
        return out;
    }

    /** {@code "; alarm raised: a, b"} for the status line, or nothing. */
    String summary() {
        List<String> raised = entries.stream().filter(e -> e.tracker().raised()).map(Entry::source).toList();
        return raised.isEmpty() ? "" : "; alarm raised: " + String.join(", ", raised);
    }

    /** Sends the events a restart left pending; once the fleet link exists. */
    void announcePending() {
        entries.forEach(e -> e.tracker().announcePending());
    }

    /** Writes every alarm's state; after the sources have stopped. */
    void checkpoint() {
        entries.forEach(e -> e.tracker().checkpoint());
    }
}
