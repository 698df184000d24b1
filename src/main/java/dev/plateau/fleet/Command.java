package dev.plateau.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A command request: the last level of its topic {@code cmd/{name}}, the fleet's {@code cmdId}
 * and its {@code args} object (empty when the request has none).
 */
public record Command(String name, String cmdId, ObjectNode args) {}
