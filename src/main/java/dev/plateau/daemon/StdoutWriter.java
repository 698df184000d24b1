package dev.plateau.daemon;

import java.io.PrintStream;
import java.util.Map;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.writers.AbstractFormatPatternWriter;

/**
 * tinylog writer for the console. Under systemd ({@code JOURNAL_STREAM} set) each line starts
 * with its syslog priority, {@code <3>} to {@code <7>}, which journald strips and files as the
 * line's priority; on a terminal the lines are plain. Property {@code stream: err} writes to stderr.
 */
public final class StdoutWriter extends AbstractFormatPatternWriter {
    private final boolean journal;
    private final PrintStream out;

    public StdoutWriter(Map<String, String> properties) {
        super(properties);
        this.journal = System.getenv("JOURNAL_STREAM") != null;
        this.out = "err".equals(properties.get("stream")) ? System.err : System.out;
    }

    @Override
    public void write(LogEntry entry) {
        String line = render(entry);
        out.print(journal ? "<" + priority(entry.getLevel()) + ">" + line : line);
    }

    static int priority(Level level) {
        return switch (level) {
            case ERROR -> 3;
            case WARN -> 4;
            case INFO -> 6;
            case DEBUG, TRACE, OFF -> 7;
        };
    }

    @Override
    public void flush() {
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }
}
