package dev.plateau.daemon;

import dev.plateau.sensor.InputHandler;
import java.nio.file.Path;

/** Marks a source's {@link Progress} around each input it hands on, so a stuck inference is seen. */
final class ProgressHandler implements InputHandler {
    private final InputHandler handler;
    private final Progress progress;

    ProgressHandler(InputHandler handler, Progress progress) {
        this.handler = handler;
        this.progress = progress;
    }

    @Override
    public Result handle(String source, Path file) {
        progress.handling(file);
        try {
            return handler.handle(source, file);
        } finally {
            progress.handled();
        }
    }
}
