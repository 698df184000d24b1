package dev.plateau.daemon;

import dev.plateau.http.DeviceView;
import dev.plateau.inference.InputNames;
import dev.plateau.inference.Prediction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last few predictions of each model, for the status page: when, from which source, the
 * label and score, and the input itself when it is small (a thumbnail or a sensor window).
 * Reading it again costs one small read per input, on the source's thread, bounded by
 * {@link #MAX_CONTENT_BYTES}.
 */
final class RecentPredictions {
    /** Predictions kept per model: a page shows a handful; more is memory for nothing. */
    static final int KEPT = 16;
    /** Inputs up to this size are kept with the prediction: a 64x64 PNG or a window of some thousand rows. */
    static final long MAX_CONTENT_BYTES = 64 * 1024;
    private static final Map<String, String> TYPES = Map.of("png", "image/png", "jpg", "image/jpeg",
            "jpeg", "image/jpeg", "csv", "text/csv");

    private final Clock clock;
    private final Map<String, Deque<DeviceView.Recent>> byModel = new ConcurrentHashMap<>();

    RecentPredictions(Clock clock) {
        this.clock = clock;
    }

    /** A prediction on {@code file}; its content is kept when it is a small regular file of a known type. */
    void add(String model, String source, Path file, int version, Prediction p) {
        String name = InputNames.of(file);
        String type = TYPES.get(extension(name));
        Optional<byte[]> content = Optional.empty();
        if (type != null) {
            try {
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && Files.size(file) <= MAX_CONTENT_BYTES) {
                    content = Optional.of(Files.readAllBytes(file));
                }
            } catch (IOException e) {
                // The page shows the prediction without its input.
            }
        }
        keep(model, new DeviceView.Recent(clock.instant(), source, name, version, p.label(), p.score(),
                content.map(c -> type), content));
    }

    /** A prediction on an input that is not a file (a tensor); kept without content. */
    void add(String model, String source, String input, int version, Prediction p) {
        keep(model, new DeviceView.Recent(clock.instant(), source, input, version, p.label(), p.score(), Optional.empty(),
                Optional.empty()));
    }

    private void keep(String model, DeviceView.Recent r) {
        Deque<DeviceView.Recent> q = byModel.computeIfAbsent(model, m -> new ArrayDeque<>());
        synchronized (q) {
            q.addFirst(r);
            while (q.size() > KEPT) {
                q.removeLast();
            }
        }
    }

    /** Newest first. */
    List<DeviceView.Recent> of(String model) {
        Deque<DeviceView.Recent> q = byModel.get(model);
        if (q == null) {
            return List.of();
        }
        synchronized (q) {
            return new ArrayList<>(q);
        }
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
