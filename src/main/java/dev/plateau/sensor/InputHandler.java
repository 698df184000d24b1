package dev.plateau.sensor;

import java.nio.file.Path;

/** What a source hands each input to; says how it went so the source can file the input. */
@FunctionalInterface
public interface InputHandler {

    enum Outcome { INFERRED, REJECTED, FAILED }

    /** Result of handling one input, with the reason when it was not inferred. */
    record Result(Outcome outcome, String reason) {
        public static final Result INFERRED = new Result(Outcome.INFERRED, "");
    }

    Result handle(String source, Path file);
}
