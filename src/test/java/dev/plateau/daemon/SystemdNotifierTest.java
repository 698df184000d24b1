package dev.plateau.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** The notify protocol over a real unix datagram socket, and what it reads from the environment. */
class SystemdNotifierTest {
    @TempDir
    Path tmp;

    @Test
    void from_noNotifySocket_isDisabledAndSendsNothing() {
        SystemdNotifier notifier = SystemdNotifier.from(Map.of("WATCHDOG_USEC", "1000000"), 1);
        assertFalse(notifier.enabled());
        notifier.ready("x");
        notifier.status("x");
        notifier.close();
    }

    @Test
    void ready_socketPath_datagramArrives() throws Exception {
        Path socket = tmp.resolve("notify.sock");
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.of(socket));
             SystemdNotifier notifier = SystemdNotifier.from(Map.of("NOTIFY_SOCKET", socket.toString()), 1)) {
            notifier.ready("1 model(s)");
            assertTrue(systemd.await("READY=1\nSTATUS=1 model(s)"::equals, 5000), systemd.messages.toString());
        }
    }

    @Test
    void stopping_abstractSocket_datagramArrives() throws Exception {
        String name = "plateau-test-" + UUID.randomUUID();
        try (NotifyListener systemd = new NotifyListener(AFUNIXSocketAddress.inAbstractNamespace(name));
             SystemdNotifier notifier = SystemdNotifier.from(Map.of("NOTIFY_SOCKET", "@" + name), 1)) {
            notifier.stopping();
            assertTrue(systemd.await(m -> m.startsWith("STOPPING=1\n"), 5000), systemd.messages.toString());
        }
    }

    @Test
    void status_lineBreaks_cannotStartAnotherAssignment() {
        RecordingTransport sent = new RecordingTransport();
        new SystemdNotifier(sent, Optional.empty()).status("config.yaml: 2 errors\n  models[0]: bad\r\nREADY=1\n");
        assertEquals(List.of("STATUS=config.yaml: 2 errors; models[0]: bad; READY=1"), sent.messages);
    }

    @Test
    void send_nobodyListening_logsAndCarriesOn() {
        Path missing = tmp.resolve("nobody.sock");
        try (SystemdNotifier notifier = SystemdNotifier.from(Map.of("NOTIFY_SOCKET", missing.toString()), 1)) {
            notifier.ready("x");
            notifier.watchdog("x");
        }
    }

    @Test
    void from_relativeSocketPath_namesTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SystemdNotifier.from(Map.of("NOTIFY_SOCKET", "run/notify"), 1));
        assertTrue(e.getMessage().contains("'run/notify'"), e.getMessage());
    }

    @Test
    void watchdogTimeout_microseconds_read() {
        assertEquals(Optional.of(Duration.ofMillis(400)),
                SystemdNotifier.watchdogTimeout(Map.of("WATCHDOG_USEC", "400000"), 7));
        assertEquals(Optional.of(Duration.ofSeconds(30)),
                SystemdNotifier.watchdogTimeout(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "7"), 7));
    }

    @Test
    void watchdogTimeout_meantForAnotherProcess_none() {
        assertEquals(Optional.empty(),
                SystemdNotifier.watchdogTimeout(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "8"), 7));
        assertEquals(Optional.empty(), SystemdNotifier.watchdogTimeout(Map.of(), 7));
    }

    @Test
    void watchdogTimeout_notANumber_namesTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SystemdNotifier.watchdogTimeout(Map.of("WATCHDOG_USEC", "30s"), 7));
        assertTrue(e.getMessage().contains("'30s'"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> SystemdNotifier.watchdogTimeout(Map.of("WATCHDOG_USEC", "0"), 7));
    }
}
