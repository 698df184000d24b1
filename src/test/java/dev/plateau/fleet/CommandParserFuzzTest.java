package dev.plateau.fleet;

import dev.plateau.config.MqttConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzing of the command parser (jqwik; tries: README, Reliability), the dispatcher that turns a
 * {@code cmd/*} payload into a {@link Command}: any payload gets exactly one reply, a rejection
 * with a reason unless it is a well-formed command, never an exception on the MQTT thread. Test
 * only: the parser is not changed here.
 */
class CommandParserFuzzTest {
    private static final Topics TOPICS = new Topics("fuzz", "node");
    /** Limits no fuzzed burst reaches: these properties are about parsing, not load. */
    private static final MqttConfig.Commands ROOMY = new MqttConfig.Commands(Optional.empty(), 300, 3600, 10_000,
            10_000, 10_000);
    private static final ScheduledExecutorService RETRIES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fuzz-reply-retries");
        t.setDaemon(true);
        return t;
    });

    /** Replies as the link got them; runs everything on the calling thread. */
    private static final class Replies implements FleetLink {
        final List<JsonNode> sent = new ArrayList<>();

        @Override
        public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retain, Duration expiry) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> reply(String topic, byte[] payload, Optional<byte[]> correlationData) {
            try {
                sent.add(Json.MAPPER.readTree(payload));
            } catch (java.io.IOException e) {
                throw new AssertionError("a reply that is not JSON", e);
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void subscribe(String filter, int qos, MessageHandler handler) {}

        @Override
        public void onConnected(Runnable action) {}

        @Override
        public boolean isConnected() {
            return true;
        }

        @Override
        public void close() {}
    }

    /** Handles one payload on {@code cmd/name} and returns the replies. */
    private static List<JsonNode> send(String name, byte[] payload) {
        return handle(name, payload, new ArrayList<>());
    }

    /** As {@link #send}, adding the refusal events (the request names no response topic) to {@code events}. */
    private static List<JsonNode> handle(String name, byte[] payload, List<Map<String, Object>> events) {
        Replies link = new Replies();
        CommandHandler echo = command -> {
            JsonNode by = command.args().get("by");
            if (by != null && !by.isInt()) {
                throw new CommandRejectedException("by: expected an integer, found " + by.getNodeType());
            }
            return () -> Map.of("by", by == null ? 1 : by.asInt());
        };
        Path state;
        try {
            state = Files.createTempDirectory("fuzz-commands");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        // Commands run inline; the reply sender's executor is only for retries, which a link that
        // takes every reply never needs.
        ThreadPoolExecutor inline = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(16)) {
            @Override
            public void execute(Runnable command) {
                command.run();
            }
        };
        try (CommandLog log = CommandLog.open(state, Duration.ofHours(1), 10_000, Clock.systemUTC())) {
            CommandDispatcher dispatcher = new CommandDispatcher(TOPICS, Clock.systemUTC(), Map.of("echo", echo),
                    inline, Runnable::run, log, Optional.empty(), ROOMY, new ReplySender(link, RETRIES,
                    new Backoff(Duration.ofMillis(5), Duration.ofMillis(20), new Random(0)), Clock.systemUTC()),
                    new UnansweredRefusals(events::add, line -> { }, Clock.systemUTC()));
            dispatcher.handle(new FleetLink.Message(TOPICS.root() + "cmd/" + name, payload, 1, Optional.empty(), Optional.empty()));
        } catch (RuntimeException e) {
            throw new AssertionError("the dispatcher threw " + e, e);
        } finally {
            inline.shutdown();
            try {
                dev.plateau.store.DurableFiles.deleteTree(state);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return link.sent;
    }

    private static void oneRejectionOrAcceptedThenDone(List<JsonNode> replies) {
        assertFalse(replies.isEmpty(), "no reply");
        String first = replies.get(0).path("state").asText();
        if (first.equals("rejected")) {
            assertEquals(1, replies.size(), replies.toString());
            assertFalse(replies.get(0).path("reason").asText().isEmpty(), "a rejection without a reason: " + replies);
        } else {
            assertEquals("accepted", first, replies.toString());
            assertEquals(2, replies.size(), replies.toString());
            assertTrue(List.of("succeeded", "failed").contains(replies.get(1).path("state").asText()), replies.toString());
        }
    }

    @Property
    void handle_anyBytes_exactlyOneRejectionWithAReason(@ForAll @Size(max = 1024) byte[] payload) {
        List<JsonNode> replies = send("echo", payload);
        // Random bytes are never a JSON object with a valid cmdId.
        assertEquals(1, replies.size(), replies.toString());
        assertEquals("rejected", replies.get(0).path("state").asText(), replies.toString());
        assertFalse(replies.get(0).path("reason").asText().isEmpty(), replies.toString());
    }

    @Property
    void handle_anyJson_oneRejectionOrAcceptedThenDone(@ForAll("commands") String json,
            @ForAll("names") String name) {
        oneRejectionOrAcceptedThenDone(send(name, json.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A command name the topic scheme refuses (non-ASCII, control characters, too long) has no
     * reply topic: no reply, one {@code command-rejected} event instead, its text escaped and
     * holding nothing of the payload.
     */
    @Property
    void handle_nameWithoutReplyTopic_oneRefusalEventWithoutPayload(@ForAll("unreplyableNames") String name,
            @ForAll("commands") String json) {
        String payload = "{\"secret\":\"hunter2\"," + json.substring(Math.min(1, json.length()));
        List<Map<String, Object>> events = new ArrayList<>();

        List<JsonNode> replies = handle(name, payload.getBytes(StandardCharsets.UTF_8), events);

        assertEquals(List.of(), replies);
        assertEquals(1, events.size(), events.toString());
        String text = events.get(0).toString();
        assertFalse(text.contains("hunter2"), text);
        assertFalse(text.chars().anyMatch(c -> c < 0x20 || c == 0x7f), text);
        assertFalse(String.valueOf(events.get(0).get("reason")).isEmpty(), text);
        assertEquals(1L, events.get(0).get("count"));
    }

    /** A well-formed command on a known name is accepted; the same with any field broken is rejected. */
    @Property
    void handle_validCommandWithOneFieldBroken_rejected(@ForAll("cmdIds") String cmdId,
            @ForAll("brokenFields") String field, @ForAll("junk") String junk) {
        ObjectNode request = Json.MAPPER.createObjectNode().put("v", 1).put("cmdId", cmdId);
        request.putObject("args").put("by", 2);
        // v 2 is wrong for v only; an integer by is valid.
        if (field.equals("v")) {
            junk = junk.equals("true") ? "2" : junk;
        }
        List<JsonNode> ok = send("echo", Json.bytes(request));
        assertEquals(List.of("accepted", "succeeded"), ok.stream().map(r -> r.path("state").asText()).toList());
        try {
            request.set(field.equals("by") ? "args" : field,
                    field.equals("by") ? Json.MAPPER.readTree("{\"by\":" + junk + "}") : Json.MAPPER.readTree(junk));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        List<JsonNode> broken = send("echo", Json.bytes(request));
        assertEquals(1, broken.size(), field + "=" + junk + ": " + broken);
        assertEquals("rejected", broken.get(0).path("state").asText(), field + "=" + junk + ": " + broken);
    }

    @Provide
    Arbitrary<String> cmdIds() {
        return Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(128);
    }

    @Provide
    Arbitrary<String> brokenFields() {
        return Arbitraries.of("v", "cmdId", "args", "by");
    }

    /** JSON values that are wrong for every one of v, cmdId, args and args.by. */
    @Provide
    Arbitrary<String> junk() {
        return Arbitraries.of("null", "\"\"", "1.5", "[]", "[1]", "true", "\"x y\"", "\"" + "a".repeat(129) + "\"",
                "\"\\u0000\"", "\"é\"");
    }

    @Provide
    Arbitrary<String> names() {
        // Names a topic level can carry; one the topic scheme refuses: unreplyableNames.
        return Arbitraries.oneOf(Arbitraries.of("echo", "ping", "finetune", ".."),
                Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                        .ofMinLength(1).ofMaxLength(64));
    }

    @Provide
    Arbitrary<String> unreplyableNames() {
        return Arbitraries.oneOf(Arbitraries.of("p\u00efng", "ping\nERROR forged", "\u202eping", "a".repeat(65)),
                Arbitraries.strings().ofMinLength(1).ofMaxLength(100)
                        .filter(n -> !n.matches("[A-Za-z0-9._-]{1,64}") && n.indexOf('/') < 0 && n.indexOf('+') < 0
                                && n.indexOf('#') < 0 && n.indexOf('\0') < 0));
    }

    @Provide
    Arbitrary<String> commands() {
        Arbitrary<String> value = Arbitraries.oneOf(
                Arbitraries.of("null", "true", "1", "-1", "1e400", "\"\"", "[]", "{}", "\"p-1\"", "{\"by\":3}",
                        "{\"by\":\"3\"}", "[[[[[[[[[[]]]]]]]]]]"),
                Arbitraries.strings().ofMaxLength(30).map(s -> Json.MAPPER.valueToTree(s).toString()),
                Arbitraries.integers().map(Object::toString));
        Arbitrary<String> key = Arbitraries.of("v", "cmdId", "args", "name", "ts", "sig", "cmdid", "");
        Arbitrary<String> field = key.flatMap(k -> value.map(v -> Json.MAPPER.valueToTree(k) + ":" + v));
        Arbitrary<String> object = field.list().ofMaxSize(6).map(fs -> "{" + String.join(",", fs) + "}");
        return Arbitraries.oneOf(object, object.map(o -> o.substring(0, Math.max(0, o.length() - 1))), value);
    }
}
