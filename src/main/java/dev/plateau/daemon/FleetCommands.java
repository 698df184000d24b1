package dev.plateau.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.fleet.Command;
import dev.plateau.fleet.CommandHandler;
import dev.plateau.fleet.CommandRejectedException;
import dev.plateau.store.ModelStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet's {@code activate} and {@code rollback} commands, done through the store: the daemon
 * follows the store, so the swap, the check before traffic and probation are the same as for
 * the CLI. Arguments are checked before anything changes.
 */
final class FleetCommands {
    private final ModelStore store;
    private final Map<String, ModelSlot> slots;

    FleetCommands(ModelStore store, Map<String, ModelSlot> slots) {
        this.store = store;
        this.slots = slots;
    }

    Map<String, CommandHandler> handlers() {
        return Map.of("activate", this::activate, "rollback", this::rollback);
    }

    private ModelSlot model(Command c) throws CommandRejectedException {
        JsonNode model = c.args().get("model");
        if (model == null || !model.isTextual()) {
            throw new CommandRejectedException("model: expected one of " + slots.keySet() + ", found " + model);
        }
        ModelSlot slot = slots.get(model.asText());
        if (slot == null) {
            throw new CommandRejectedException("model: expected one of " + slots.keySet() + ", found '"
                    + model.asText() + "'");
        }
        return slot;
    }

    private Integer version(Command c, ModelSlot slot, boolean required) throws CommandRejectedException {
        JsonNode v = c.args().get("version");
        if (v == null && !required) {
            return null;
        }
        List<Integer> known = new java.util.ArrayList<>(List.of(0));
        known.addAll(store.versions(slot.name()));
        if (v == null || !v.canConvertToInt() || !known.contains(v.asInt())) {
            throw new CommandRejectedException("version: expected one of " + known + ", found " + v);
        }
        return v.asInt();
    }

    private CommandHandler.Work activate(Command c) throws CommandRejectedException {
        ModelSlot slot = model(c);
        int version = version(c, slot, true);
        return () -> result(store.activate(slot.name(), version, "fleet command " + c.cmdId()));
    }

    private CommandHandler.Work rollback(Command c) throws CommandRejectedException {
        ModelSlot slot = model(c);
        Integer version = version(c, slot, false);
        return () -> result(store.rollback(slot.name(), version, -1, "fleet command " + c.cmdId()));
    }

    private static Map<String, ?> result(ModelStore.Activation a) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", a.model());
        out.put("version", a.version());
        out.put("previous", a.previous());
        return out;
    }
}
