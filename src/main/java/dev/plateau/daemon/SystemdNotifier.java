package dev.plateau.daemon;

import java.io.IOException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * systemd's notify protocol ({@code sd_notify}) for a {@code Type=notify} service: {@code READY=1},
 * {@code STATUS=}, {@code STOPPING=1}, {@code WATCHDOG=1}. Built from the environment systemd gives
 * the service; without {@code NOTIFY_SOCKET} it sends nothing, so {@code plateau run} behaves the
 * same from a terminal.
 *
 * <p>Sending never throws: a lost notification is logged, and systemd's own start and watchdog
 * timeouts are the backstop.
 */
public final class SystemdNotifier implements AutoCloseable {
    private static final SystemdNotifier DISABLED = new SystemdNotifier(null, Optional.empty());

    private final Transport transport;
    private final Optional<Duration> watchdogTimeout;
    private boolean closed;

    SystemdNotifier(Transport transport, Optional<Duration> watchdogTimeout) {
        this.transport = transport;
        this.watchdogTimeout = watchdogTimeout;
    }

    /**
     * From {@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC} and {@code WATCHDOG_PID} of this process.
     *
     * @throws IllegalArgumentException when a variable is set but malformed
     * @throws java.io.UncheckedIOException when the socket cannot be created
     */
    public static SystemdNotifier fromEnvironment() {
        return from(System.getenv(), ProcessHandle.current().pid());
    }

    static SystemdNotifier from(Map<String, String> env, long pid) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return DISABLED;
        }
        Optional<Duration> watchdog = watchdogTimeout(env, pid);
        return new SystemdNotifier(NotifySocket.open(socket), watchdog);
    }

    /** Sends nothing; for {@code plateau run} outside systemd and for tests. */
    public static SystemdNotifier disabled() {
        return DISABLED;
    }

    // The semantics of sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process meant.
    static Optional<Duration> watchdogTimeout(Map<String, String> env, long pid) {
        String usec = env.get("WATCHDOG_USEC");
        if (usec == null || usec.isEmpty()) {
            return Optional.empty();
        }
        String forPid = env.get("WATCHDOG_PID");
        if (forPid != null && !forPid.isEmpty() && !forPid.equals(Long.toString(pid))) {
            return Optional.empty();
        }
        long micros;
        try {
            micros = Long.parseLong(usec);
        } catch (NumberFormatException e) {
            micros = -1;
        }
        if (micros <= 0) {
            throw new IllegalArgumentException("WATCHDOG_USEC: expected a positive number of microseconds, found '"
                    + usec + "'");
        }
        return Optional.of(Duration.of(micros, ChronoUnit.MICROS));
    }

    /** Whether a notify socket was given; when false every method does nothing. */
    public boolean enabled() {
        return transport != null;
    }

    /** The watchdog timeout systemd expects pings within, when it wants them. */
    Optional<Duration> watchdogTimeout() {
        return watchdogTimeout;
    }

    /** {@code STATUS=}: one line for {@code systemctl status}; line breaks become "; ". */
    public void status(String text) {
        send("STATUS=" + oneLine(text));
    }

    /** Start-up is complete: models loaded, sources started. */
    void ready(String status) {
        send("READY=1\nSTATUS=" + oneLine(status));
    }

    /** Shutdown has begun. */
    void stopping() {
        send("STOPPING=1\nSTATUS=stopping");
    }

    /** One watchdog ping, with the current status. */
    void watchdog(String status) {
        send("WATCHDOG=1\nSTATUS=" + oneLine(status));
    }

    // A line break would end the assignment and start another one: a STATUS text must not be
    // able to say READY=1.
    static String oneLine(String text) {
        return text.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }

    private synchronized void send(String message) {
        if (transport == null || closed) {
            return;
        }
        try {
            transport.send(message);
        } catch (IOException e) {
            Logger.warn("systemd notify: cannot send '{}' to {}: {}", message.replace('\n', ' '), transport, e.toString());
        }
    }

    /** Closes the socket; later notifications are dropped. Idempotent. */
    @Override
    public synchronized void close() {
        if (transport == null || closed) {
            return;
        }
        closed = true;
        try {
            transport.close();
        } catch (IOException e) {
            Logger.warn("systemd notify: closing {}: {}", transport, e.toString());
        }
    }

    /** Where notifications go: the notify socket, or a recorder in tests. */
    interface Transport extends AutoCloseable {
        void send(String message) throws IOException;

        @Override
        void close() throws IOException;
    }
}
