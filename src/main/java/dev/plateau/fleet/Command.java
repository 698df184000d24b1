package dev.plateau.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

/**
 * A command request: the last level of its topic {@code cmd/{name}}, the fleet's {@code cmdId}
 * and its {@code args} object (empty when the request has none).
 */
public record Command(String name, String cmdId, ObjectNode args) {

    /**
     * Refuses any argument not in {@code allowed}: a misspelt argument must not run with a
     * default in its place.
     *
     * @throws CommandRejectedException naming the first unknown argument and the allowed ones
     */
    public void allowOnly(String... allowed) throws CommandRejectedException {
        List<String> names = List.of(allowed);
        allowOnly(names::contains, names.stream().sorted().toList().toString());
    }

    /**
     * As {@link #allowOnly(String...)} for argument names that follow a pattern.
     *
     * @param expected how the reason describes the allowed names, e.g. {@code "[data, model, set.KEY]"}
     */
    public void allowOnly(Predicate<String> allowed, String expected) throws CommandRejectedException {
        for (Iterator<String> it = args.fieldNames(); it.hasNext(); ) {
            String arg = it.next();
            if (!allowed.test(arg)) {
                throw new CommandRejectedException(name + ": unknown argument '" + arg + "', expected one of "
                        + expected);
            }
        }
    }
}
