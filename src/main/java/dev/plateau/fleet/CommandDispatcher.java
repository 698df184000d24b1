package dev.plateau.fleet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Serves {@code cmd/{name}}: checks the request, replies {@code accepted} or {@code rejected} at
 * once, runs the work on {@code workExecutor} and replies {@code succeeded} or {@code failed}.
 * Replies go to the request's MQTT 5 response topic with its correlation data (or to
 * {@link Topics#reply} when it names none). The last reply to each of the most recent
 * {@code memory} cmdIds is kept: a repeated cmdId gets that reply again, marked
 * {@code "duplicate":true}, and nothing runs twice.
 *
 * <p>Runs on the link's thread; {@link #handle} never blocks.
 */
final class CommandDispatcher {
    static final int MAX_PAYLOAD = 64 * 1024;
    static final int MEMORY = 1024;
    private static final Pattern CMD_ID = Pattern.compile("[\\x21-\\x7e]{1,128}");

    private final FleetLink link;
    private final Topics topics;
    private final Clock clock;
    private final Map<String, CommandHandler> handlers;
    private final Executor workExecutor;
    private final Executor linkExecutor;
    private final Map<String, ObjectNode> lastReplies = new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ObjectNode> eldest) {
            return size() > MEMORY;
        }
    };

    private record Target(String topic, Optional<byte[]> correlationData) {}

    CommandDispatcher(FleetLink link, Topics topics, Clock clock, Map<String, CommandHandler> handlers,
                      Executor workExecutor, Executor linkExecutor) {
        this.link = link;
        this.topics = topics;
        this.clock = clock;
        this.handlers = Map.copyOf(handlers);
        this.workExecutor = workExecutor;
        this.linkExecutor = linkExecutor;
    }

    void handle(FleetLink.Message message) {
        String name = topics.commandName(message.topic());
        Target target = new Target(message.responseTopic().orElse(topics.reply(name)), message.correlationData());
        if (message.payload().length > MAX_PAYLOAD) {
            reject(target, name, null, "payload of " + message.payload().length + " bytes exceeds the limit of "
                    + MAX_PAYLOAD);
            return;
        }
        JsonNode request;
        try {
            request = Json.MAPPER.readTree(message.payload());
        } catch (JsonProcessingException e) {
            reject(target, name, null, "malformed JSON: " + e.getOriginalMessage());
            return;
        } catch (java.io.IOException e) {
            reject(target, name, null, "unreadable payload: " + e.getMessage());
            return;
        }
        if (request == null || !request.isObject()) {
            reject(target, name, null, "expected a JSON object, found "
                    + (request == null ? "nothing" : request.getNodeType().toString().toLowerCase()));
            return;
        }
        JsonNode id = request.get("cmdId");
        if (id == null || !id.isTextual() || !CMD_ID.matcher(id.asText()).matches()) {
            reject(target, name, null, "cmdId: expected a string of 1-128 printable ASCII characters, found "
                    + (id == null ? "none" : id.toString()));
            return;
        }
        String cmdId = id.asText();
        ObjectNode last = lastReplies.get(cmdId);
        if (last != null) {
            ObjectNode again = last.deepCopy();
            again.put("duplicate", true);
            send(target, again);
            return;
        }
        dispatch(target, name, cmdId, request);
    }

    private void dispatch(Target target, String name, String cmdId, JsonNode request) {
        JsonNode v = request.get("v");
        if (v != null && !(v.isInt() && v.asInt() == 1)) {
            reject(target, name, cmdId, "v: expected 1, found " + v);
            return;
        }
        CommandHandler handler = handlers.get(name);
        if (handler == null) {
            reject(target, name, cmdId, "unknown command '" + name + "', expected one of "
                    + new TreeSet<>(handlers.keySet()));
            return;
        }
        JsonNode args = request.get("args");
        if (args != null && !args.isObject()) {
            reject(target, name, cmdId, "args: expected a JSON object, found " + args.getNodeType().toString().toLowerCase());
            return;
        }
        Command command = new Command(name, cmdId, args == null ? Json.MAPPER.createObjectNode() : (ObjectNode) args);
        CommandHandler.Work work;
        try {
            work = handler.prepare(command);
        } catch (CommandRejectedException e) {
            reject(target, name, cmdId, e.getMessage());
            return;
        } catch (RuntimeException e) {
            Logger.error(e, "fleet: command {} {}: checking its arguments failed", name, cmdId);
            reject(target, name, cmdId, "internal error while checking the arguments: " + e);
            return;
        }
        answer(target, reply(name, cmdId, "accepted"));
        workExecutor.execute(() -> run(target, name, cmdId, work));
    }

    private void run(Target target, String name, String cmdId, CommandHandler.Work work) {
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
        ObjectNode finalReply = done;
        linkExecutor.execute(() -> answer(target, finalReply));
    }

    private void reject(Target target, String name, String cmdId, String reason) {
        Logger.info("fleet: command {} {} rejected: {}", name, cmdId, reason);
        ObjectNode node = reply(name, cmdId, "rejected");
        node.put("reason", reason);
        answer(target, node);
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

    private void answer(Target target, ObjectNode reply) {
        JsonNode cmdId = reply.get("cmdId");
        if (cmdId != null) {
            lastReplies.put(cmdId.asText(), reply);
        }
        send(target, reply);
    }

    private void send(Target target, ObjectNode reply) {
        link.reply(target.topic(), Json.bytes(reply), target.correlationData()).whenComplete((ok, failure) -> {
            if (failure != null) {
                // The fleet repeats the request under the same cmdId and gets this reply from memory.
                Logger.warn("fleet: reply {} to {} not sent: {}", reply.path("state").asText(), target.topic(),
                        failure.getMessage());
            }
        });
    }
}
