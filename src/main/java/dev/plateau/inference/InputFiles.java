package dev.plateau.inference;

import dev.plateau.inference.InputRejectedException.Reason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;

/**
 * Reads an input file as data and nothing else: a symbolic link is not followed (a link in an
 * inbox must not turn the device's key into an input), a FIFO, device, socket or directory is
 * refused before it is opened (opening a FIFO would block the source), and the size limit is
 * checked on the opened file before a byte is read.
 *
 * <p>Reading goes through a small buffer: reading a whole file into one heap array through a
 * channel makes the JDK allocate a temporary direct buffer of the file's size, which fails beyond
 * {@code -XX:MaxDirectMemorySize} with an {@link OutOfMemoryError} rather than an exception.
 */
public final class InputFiles {
    /** Bytes per read call: the largest temporary direct buffer a read makes the JDK allocate. */
    static final int CHUNK = 64 * 1024;

    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFSOCK = 0140000;

    private InputFiles() {}

    /**
     * Why {@code file} is not a regular file an input may be read from (naming what it is and what
     * is expected), or empty when it is one. The link itself is looked at, never its target.
     */
    public static Optional<String> notRegular(Path file) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return Optional.empty(); // gone or unreadable: opening it says which
        }
        if (attrs.isRegularFile()) {
            return Optional.empty();
        }
        String what = attrs.isSymbolicLink() ? "a symbolic link (links are not followed)"
                : attrs.isDirectory() ? "a directory" : special(file);
        return Optional.of("is " + what + ", expected a regular file");
    }

    private static String special(Path file) {
        try {
            int mode = ((Number) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS)).intValue() & S_IFMT;
            return switch (mode) {
                case S_IFIFO -> "a FIFO (named pipe)";
                case S_IFCHR -> "a character device";
                case S_IFBLK -> "a block device";
                case S_IFSOCK -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | RuntimeException e) {
            return "a special file";
        }
    }

    /**
     * The content of {@code file}, at most {@code maxBytes} of it.
     *
     * @param what what a file of this size limit is, for the refusal ("a csv-window of 8 rows")
     * @throws InputRejectedException {@code NOT_A_FILE} for anything but a regular file,
     *                                {@code TOO_LARGE} over the limit, {@code UNREADABLE} when it
     *                                cannot be read; the message never quotes the content
     */
    public static byte[] read(Path file, long maxBytes, String what) throws InputRejectedException {
        String name = InputNames.path(file);
        Optional<String> refused = notRegular(file);
        if (refused.isPresent()) {
            throw new InputRejectedException(Reason.NOT_A_FILE, name + ": " + refused.get());
        }
        // NOFOLLOW_LINKS opens with O_NOFOLLOW: a link swapped in after the check fails to open.
        try (SeekableByteChannel in = Files.newByteChannel(file,
                Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            long size = in.size();
            if (size > maxBytes) {
                throw tooLarge(name, size + " bytes", maxBytes, what);
            }
            byte[] data = new byte[(int) size];
            int n = 0;
            while (n < data.length) {
                int r = in.read(ByteBuffer.wrap(data, n, Math.min(CHUNK, data.length - n)));
                if (r < 0) {
                    return Arrays.copyOf(data, n); // shrank since the size was taken
                }
                n += r;
            }
            if (in.read(ByteBuffer.allocate(1)) > 0) {
                throw tooLarge(name, "more than " + size + " bytes (it grew while being read)", maxBytes, what);
            }
            return data;
        } catch (NoSuchFileException e) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": cannot read: no such file", e);
        } catch (IOException e) {
            throw new InputRejectedException(Reason.UNREADABLE, name + ": cannot read: "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " (" + reasonOf(e) + ")"), e);
        }
    }

    // FileSystemException's message repeats the path unescaped; its reason is the OS's text.
    private static String reasonOf(IOException e) {
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return InputNames.escape(fs.getReason());
        }
        return InputNames.escape(e.getMessage());
    }

    private static InputRejectedException tooLarge(String name, String size, long maxBytes, String what) {
        return new InputRejectedException(Reason.TOO_LARGE, name + ": " + size + ", expected at most " + maxBytes
                + " bytes for " + what + "; not read");
    }
}
