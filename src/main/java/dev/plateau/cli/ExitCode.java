package dev.plateau.cli;

/** The process exit codes of every command (see the README). */
final class ExitCode {
    static final int OK = 0;
    static final int INTERNAL = 1;
    static final int BAD_INPUT = 2;
    static final int REJECTED = 3;
    static final int CONFIG = 78;

    private ExitCode() {}
}
