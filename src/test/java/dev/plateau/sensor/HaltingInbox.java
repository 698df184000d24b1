package dev.plateau.sensor;

import dev.plateau.config.SourceConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A child process whose inbox handler dies the way a decoder crash kills the JVM: {@code halt},
 * no shutdown hooks, no finally blocks. Argument: the inbox directory.
 */
public final class HaltingInbox {
    private HaltingInbox() {}

    public static void main(String[] args) {
        ScheduledExecutorService unused = Executors.newSingleThreadScheduledExecutor();
        SourceConfig.Directory config = new SourceConfig.Directory("inbox", "m", Path.of(args[0]), 50, 0,
                Optional.empty());
        new DirectorySource(config, (source, file) -> {
            System.out.println("handling " + file.getFileName());
            System.out.flush();
            Runtime.getRuntime().halt(134);
            throw new AssertionError("not reached");
        }, unused, Clock.systemUTC()).poll();
        System.out.println("poll returned");
        Runtime.getRuntime().halt(0);
    }
}
