package dev.plateau.daemon;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.newsclub.net.unix.AFUNIXDatagramSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** Stands in for systemd: a unix datagram socket that keeps every notification it receives. */
final class NotifyListener implements AutoCloseable {
    final List<String> messages = new CopyOnWriteArrayList<>();
    private final AFUNIXDatagramSocket socket;
    private final Thread reader;

    NotifyListener(AFUNIXSocketAddress address) throws IOException {
        socket = AFUNIXDatagramSocket.newInstance();
        socket.bind(address);
        socket.setSoTimeout(100);
        reader = new Thread(this::read, "notify-listener");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        byte[] buffer = new byte[4096];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
                messages.add(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
            } catch (SocketTimeoutException e) {
                // poll again, until closed
            } catch (IOException e) {
                if (!socket.isClosed()) {
                    messages.add("listener: " + e);
                }
                return;
            }
        }
    }

    /** Waits until some message matches; false on timeout. */
    boolean await(Predicate<String> match, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            if (messages.stream().anyMatch(match)) {
                return true;
            }
            Thread.sleep(10);
        }
        return messages.stream().anyMatch(match);
    }

    @Override
    public void close() {
        socket.close();
        try {
            reader.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
