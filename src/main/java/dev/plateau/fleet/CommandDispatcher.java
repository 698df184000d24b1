package dev.plateau.fleet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.config.MqttConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Serves {@code cmd/{name}}. Each request, in this order: size; the rate limit (a token bucket);
 * JSON shape and {@code cmdId}; the operator's signature and its age, when keys are configured;
 * the {@link CommandLog} (a cmdId seen within the window is answered with its recorded outcome,
 * marked {@code "duplicate":true}, and nothing runs again); the command name; room in the
 * queue; the handler's argument check. An accepted command is recorded on disk, answered
 * {@code accepted}, and queued for the command thread, which runs it and answers
 * {@code succeeded} or {@code failed}. Every refusal is answered {@code rejected} with its reason
 * and logged. Replies go to the request's MQTT 5 response topic with its correlation data (or to
 * {@link Topics#reply} when it names none), through the {@link ReplySender}. A request that named
 * no response topic may have no one listening, or no reply topic at all (a command name the
 * topic scheme refuses): its refusal also goes to {@link UnansweredRefusals}, an event and a
 * rate-limited log line. No reason quotes the payload.
 *
 * <p>{@link #handle} runs on the link's thread and never waits for a command.
 */
final class CommandDispatcher {
    static final int MAX_PAYLOAD = 64 * 1024;
    private static final Pattern CMD_ID = Pattern.compile("[\\x21-\\x7e]{1,128}");

    private final Topics topics;
    private final Clock clock;
    private final Map<String, CommandHandler> handlers;
    private final ThreadPoolExecutor workExecutor;
    private final Executor linkExecutor;
    private final CommandLog log;
    private final Optional<CommandSignature.Verifier> verifier;
    private final TokenBucket bucket;
    private final ReplySender replies;
    private final MqttConfig.Commands limits;
    private final UnansweredRefusals unanswered;

    /**
     * Where a request's replies go: its response topic, else {@code reply/{name}} when the name
     * makes one; {@code requested} says whether the sender named the topic (and so listens).
     */
    private record Target(String commandTopic, Optional<String> topic, Optional<byte[]> correlationData,
                          boolean requested) {
        static Target of(FleetLink.Message message, Topics topics, String name) {
            return new Target(message.topic(), message.responseTopic().or(() -> topics.replyTopic(name)),
                    message.correlationData(), message.responseTopic().isPresent());
        }
    }

    CommandDispatcher(Topics topics, Clock clock, Map<String, CommandHandler> handlers,
                      ThreadPoolExecutor workExecutor, Executor linkExecutor, CommandLog log,
                      Optional<CommandSignature.Verifier> verifier, MqttConfig.Commands limits, ReplySender replies,
                      UnansweredRefusals unanswered) {
        this.topics = topics;
        this.clock = clock;
        this.handlers = Map.copyOf(handlers);
        this.workExecutor = workExecutor;
        this.linkExecutor = linkExecutor;
        this.log = log;
        this.verifier = verifier;
        this.limits = limits;
        this.bucket = new TokenBucket(limits.ratePerSecond(), limits.burst(), clock);
        this.replies = replies;
        this.unanswered = unanswered;
    }

    void handle(FleetLink.Message message) {
        String name = topics.commandName(message.topic());
        Target target = Target.of(message, topics, name);
        if (message.payload().length > MAX_PAYLOAD) {
            reject(target, name, null, "payload of " + message.payload().length + " bytes exceeds the limit of "
                    + MAX_PAYLOAD);
            return;
        }
        JsonNode request = null;
        String unreadable = null;
        try {
            request = Json.MAPPER.readTree(message.payload());
        } catch (JsonProcessingException e) {
            // Where, not what: the parser's own message quotes the payload.
            unreadable = e.getLocation() == null ? "malformed JSON"
                    : "malformed JSON at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
        } catch (IOException e) {
            unreadable = "unreadable payload (" + e.getClass().getSimpleName() + ")";
        }
        JsonNode id = request == null || !request.isObject() ? null : request.get("cmdId");
        boolean idValid = id != null && id.isTextual() && CMD_ID.matcher(id.asText()).matches();
        String cmdId = idValid ? id.asText() : null;
        if (!bucket.tryTake()) {
            reject(target, name, cmdId, "rate limited: more than " + limits.burst() + " commands at once or "
                    + format(limits.ratePerSecond()) + " a second (mqtt.command_burst, mqtt.command_rate_per_s); "
                    + "not run, send it again later under the same cmdId");
            return;
        }
        if (unreadable != null) {
            reject(target, name, null, unreadable);
            return;
        }
        if (request == null || !request.isObject()) {
            reject(target, name, null, "expected a JSON object, found "
                    + (request == null ? "nothing" : request.getNodeType().toString().toLowerCase()));
            return;
        }
        if (!idValid) {
            reject(target, name, null, "cmdId: expected a string of 1-128 printable ASCII characters, found "
                    + (id == null ? "none" : id.getNodeType().toString().toLowerCase()));
            return;
        }
        JsonNode args = request.get("args");
        if (args != null && !args.isObject()) {
            reject(target, name, cmdId, "args: expected a JSON object, found " + args.getNodeType().toString().toLowerCase());
            return;
        }
        ObjectNode arguments = args == null ? Json.MAPPER.createObjectNode() : (ObjectNode) args;
        // Checked before the log is consulted: an unsigned request learns nothing of earlier outcomes.
        JsonNode signed = request;
        Optional<String> refusal = verifier.flatMap(v -> v.refusal(name, cmdId, signed, arguments));
        if (refusal.isPresent()) {
            reject(target, name, cmdId, refusal.get());
            return;
        }
        String digest = digest(name, arguments);
        Optional<CommandLog.Entry> seen = log.get(cmdId);
        if (seen.isPresent()) {
            repeat(target, name, cmdId, digest, seen.get());
            return;
        }
        dispatch(target, name, cmdId, digest, request, arguments);
    }

    private void repeat(Target target, String name, String cmdId, String digest, CommandLog.Entry seen) {
        if (!seen.digest().equals(digest)) {
            reject(target, name, cmdId, "cmdId " + cmdId + " was used at " + seen.at()
                    + " for another request; a cmdId names one request, not run");
            return;
        }
        Logger.info("fleet: command {} {} repeats one received at {}: answered {} again, not run again",
                UnansweredRefusals.text(name),
                cmdId, seen.at(), seen.state());
        ObjectNode again = seen.reply().deepCopy();
        again.put("duplicate", true);
        send(target, again);
    }

    private void dispatch(Target target, String name, String cmdId, String digest, JsonNode request,
                          ObjectNode arguments) {
        JsonNode v = request.get("v");
        if (v != null && !(v.isInt() && v.asInt() == 1)) {
            rejectRecorded(target, name, cmdId, digest, "v: expected 1, found " + v);
            return;
        }
        CommandHandler handler = handlers.get(name);
        if (handler == null) {
            rejectRecorded(target, name, cmdId, digest, "unknown command '" + UnansweredRefusals.text(name)
                    + "', expected one of " + new TreeSet<>(handlers.keySet()));
            return;
        }
        // The link's thread is the only one adding to the queue: room seen here is room at execute.
        if (workExecutor.getQueue().remainingCapacity() == 0) {
            reject(target, name, cmdId, "queue full: " + workExecutor.getQueue().size() + " commands wait to run "
                    + "(mqtt.command_queue); not run, send it again later under the same cmdId");
            return;
        }
        if (log.full()) {
            reject(target, name, cmdId, "busy: " + log.size() + " cmdIds are remembered for the last "
                    + limits.windowSeconds() + " s, the most this device keeps; not run, send it again later");
            return;
        }
        Command command = new Command(name, cmdId, arguments);
        CommandHandler.Work work;
        try {
            work = handler.prepare(command);
        } catch (CommandRejectedException e) {
            rejectRecorded(target, name, cmdId, digest, e.getMessage());
            return;
        } catch (RuntimeException e) {
            Logger.error(e, "fleet: command {} {}: checking its arguments failed", name, cmdId);
            reject(target, name, cmdId, "internal error while checking the arguments: " + e);
            return;
        }
        ObjectNode accepted = reply(name, cmdId, "accepted");
        try {
            // On disk before anything runs: after a crash the command is known and never runs twice.
            log.record(cmdId, digest, accepted);
        } catch (UncheckedIOException e) {
            Logger.error("fleet: command {} {}: {}: {}", name, cmdId, e.getMessage(), e.getCause().toString());
            reject(target, name, cmdId, "cannot record the command on disk (" + e.getCause().getMessage()
                    + "); not run");
            return;
        }
        send(target, accepted);
        try {
            workExecutor.execute(() -> run(target, name, cmdId, digest, work));
        } catch (RejectedExecutionException e) {
            Logger.warn("fleet: command {} {} not run: the fleet link is closing", name, cmdId);
        }
    }

    private void run(Target target, String name, String cmdId, String digest, CommandHandler.Work work) {
        ObjectNode done;
        try {
            Map<String, ?> result = work.run();
            done = reply(name, cmdId, "succeeded");
            done.set("result", Json.MAPPER.valueToTree(result == null ? Map.of() : result));
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Logger.warn("fleet: command {} {} failed: {}", name, cmdId, e.toString());
            done = reply(name, cmdId, "failed");
            done.put("reason", e.getMessage() == null ? e.toString() : e.getMessage());
        }
        try {
            log.record(cmdId, digest, done);
        } catch (UncheckedIOException e) {
            Logger.error("fleet: command {} {} {}: outcome not kept for repeats: {}: {}", name, cmdId,
                    done.path("state").asText(), e.getMessage(), e.getCause().toString());
        }
        ObjectNode finalReply = done;
        try {
            linkExecutor.execute(() -> send(target, finalReply));
        } catch (RejectedExecutionException e) {
            Logger.warn("fleet: reply {} to command {} {} not sent: the fleet link is closed; kept for a repeat",
                    finalReply.path("state").asText(), name, cmdId);
        }
    }

    /** A refusal that stays the answer to this cmdId: the request was authentic and nothing ran. */
    private void rejectRecorded(Target target, String name, String cmdId, String digest, String reason) {
        ObjectNode node = rejection(target, name, cmdId, reason);
        try {
            log.record(cmdId, digest, node);
        } catch (UncheckedIOException e) {
            Logger.warn("fleet: command {} {} rejection not kept: {}: {}", name, cmdId, e.getMessage(),
                    e.getCause().toString());
        }
        send(target, node);
    }

    /** A refusal that is not remembered: the same cmdId may come again and be served then. */
    private void reject(Target target, String name, String cmdId, String reason) {
        send(target, rejection(target, name, cmdId, reason));
    }

    /** The rejected reply; logged here when the sender listens, else by {@link UnansweredRefusals}, rate-limited. */
    private ObjectNode rejection(Target target, String name, String cmdId, String reason) {
        if (target.requested()) {
            Logger.info("fleet: command {} {} rejected: {}", UnansweredRefusals.text(name), cmdId, reason);
        } else {
            unanswered.refused(target.commandTopic(), cmdId, reason);
        }
        ObjectNode node = reply(name, cmdId, "rejected");
        node.put("reason", reason);
        return node;
    }

    private ObjectNode reply(String name, String cmdId, String state) {
        ObjectNode node = Json.envelope(clock);
        if (cmdId != null) {
            node.put("cmdId", cmdId);
        }
        node.put("cmd", name);
        node.put("state", state);
        return node;
    }

    private void send(Target target, ObjectNode reply) {
        if (target.topic().isEmpty()) {
            return; // no topic to answer on: a refusal went to UnansweredRefusals
        }
        replies.send(target.topic().get(), Json.bytes(reply), target.correlationData(),
                reply.path("state").asText() + " " + reply.path("cmd").asText() + " "
                        + reply.path("cmdId").asText("(no cmdId)"));
    }

    /** What a request asks, independent of its time and signature: a repeat with other content is told apart. */
    private static String digest(String name, ObjectNode args) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(sha.digest(CommandSignature.canonical("", "", name, "", "", args)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static String format(double rate) {
        return rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate);
    }
}
