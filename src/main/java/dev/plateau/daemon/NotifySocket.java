package dev.plateau.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * The unix datagram socket systemd listens on for notifications. Java 17's own unix-domain
 * channels are stream-only, hence junixsocket; its JNI library is unpacked into
 * {@code java.io.tmpdir}, which the unit points at the cache directory.
 */
final class NotifySocket implements SystemdNotifier.Transport {
    private final String address;
    private final AFUNIXSocketAddress target;
    private final AFUNIXDatagramChannel channel;

    private NotifySocket(String address, AFUNIXSocketAddress target, AFUNIXDatagramChannel channel) {
        this.address = address;
        this.target = target;
        this.channel = channel;
    }

    /**
     * @param notifySocket {@code NOTIFY_SOCKET}: an absolute path, or {@code @name} in the abstract namespace
     */
    static NotifySocket open(String notifySocket) {
        if (!AFUNIXSocket.isSupported()) {
            // junixsocket has printed why its JNI library did not load.
            throw new IllegalStateException("cannot notify systemd at " + notifySocket
                    + ": junixsocket's native library is not available for " + System.getProperty("os.arch"));
        }
        AFUNIXSocketAddress target;
        try {
            target = address(notifySocket);
        } catch (SocketException e) {
            throw new IllegalArgumentException("NOTIFY_SOCKET: unusable address '" + notifySocket + "': "
                    + e.getMessage(), e);
        }
        try {
            return new NotifySocket(notifySocket, target, AFUNIXDatagramChannel.open());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a socket to notify systemd at " + notifySocket, e);
        }
    }

    static AFUNIXSocketAddress address(String notifySocket) throws SocketException {
        if (notifySocket.startsWith("@") && notifySocket.length() > 1) {
            return AFUNIXSocketAddress.inAbstractNamespace(notifySocket.substring(1));
        }
        if (notifySocket.startsWith("/")) {
            return AFUNIXSocketAddress.of(Path.of(notifySocket));
        }
        throw new IllegalArgumentException("NOTIFY_SOCKET: unsupported address '" + notifySocket
                + "', expected an absolute path or @name (abstract namespace)");
    }

    @Override
    public void send(String message) throws IOException {
        ByteBuffer datagram = ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8));
        int length = datagram.remaining();
        int sent = channel.send(datagram, target);
        if (sent != length) {
            throw new IOException("sent " + sent + " of " + length + " bytes");
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return address;
    }
}
