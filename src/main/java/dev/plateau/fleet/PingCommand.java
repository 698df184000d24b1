package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code cmd/ping}: answers with the uptime and, if given, {@code args.echo} (a string of at most 256 characters). */
final class PingCommand implements CommandHandler {
    static final int MAX_ECHO = 256;

    private final Clock clock;
    private final Instant started;

    PingCommand(Clock clock) {
        this.clock = clock;
        this.started = clock.instant();
    }

    @Override
    public Work prepare(Command command) throws CommandRejectedException {
        command.allowOnly("echo");
        JsonNode echo = command.args().get("echo");
        if (echo != null && !echo.isTextual()) {
            throw new CommandRejectedException("echo: expected a string, found " + echo.getNodeType().toString().toLowerCase());
        }
        if (echo != null && echo.asText().length() > MAX_ECHO) {
            throw new CommandRejectedException("echo: expected at most " + MAX_ECHO + " characters, found "
                    + echo.asText().length());
        }
        return () -> {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("pong", true);
            result.put("uptime_s", Duration.between(started, clock.instant()).toSeconds());
            if (echo != null) {
                result.put("echo", echo.asText());
            }
            return result;
        };
    }
}
