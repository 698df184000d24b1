package dev.plateau.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TopicsTest {
    final Topics topics = new Topics("roadside", "junction-a12");

    @Test
    void topics_scheme_underVersionedRoot() {
        assertEquals("plateau/v1/roadside/junction-a12/status", topics.status());
        assertEquals("plateau/v1/roadside/junction-a12/health", topics.health());
        assertEquals("plateau/v1/roadside/junction-a12/event/rollback", topics.event("rollback"));
        assertEquals("plateau/v1/roadside/junction-a12/result/fashion-cnn", topics.result("fashion-cnn"));
        assertEquals("plateau/v1/roadside/junction-a12/cmd/+", topics.commands());
        assertEquals("ping", topics.commandName(topics.command("ping")));
    }

    @Test
    void new_wildcardInNode_rejectedWithValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Topics("g", "a/#"));
        assertEquals("node: expected [A-Za-z0-9._-], 1-64 characters, found 'a/#'", e.getMessage());
    }
}
