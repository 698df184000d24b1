package dev.plateau.daemon;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every notification instead of sending it. */
final class RecordingTransport implements SystemdNotifier.Transport {
    final List<String> messages = new CopyOnWriteArrayList<>();

    @Override
    public void send(String message) {
        messages.add(message);
    }

    @Override
    public void close() {}

    long count(String prefix) {
        return messages.stream().filter(m -> m.startsWith(prefix)).count();
    }

    String last() {
        return messages.isEmpty() ? "" : messages.get(messages.size() - 1);
    }
}
