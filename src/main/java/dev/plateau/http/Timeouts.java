package dev.plateau.http;

import org.tinylog.Logger;

/**
 * The JDK server's own settings, which it reads once per process from system properties: a
 * request (headers and body) must arrive within the timeout, a response must be taken within it,
 * an idle kept-alive connection is closed after it; and TCP_NODELAY on.
 */
final class Timeouts {
    private static final String REQUEST = "sun.net.httpserver.maxReqTime";
    private static final String RESPONSE = "sun.net.httpserver.maxRspTime";
    private static final String IDLE = "sun.net.httpserver.idleInterval";
    /**
     * Off by default in the JDK: the server writes headers and body apart, and Nagle's algorithm
     * then holds the body for the client's delayed ACK, 40 ms per request on loopback.
     */
    private static final String NO_DELAY = "sun.net.httpserver.nodelay";
    private static Integer applied;

    private Timeouts() {}

    /** Sets the limits before the first server starts; a later, different value is said to be ignored. */
    static synchronized void apply(int seconds) {
        if (applied != null) {
            if (applied != seconds) {
                Logger.warn("http: request timeout {} s ignored, this process keeps its first of {} s", seconds,
                        applied);
            }
            return;
        }
        String value = Integer.toString(seconds);
        System.setProperty(REQUEST, value);
        System.setProperty(RESPONSE, value);
        System.setProperty(IDLE, value);
        System.setProperty(NO_DELAY, "true");
        applied = seconds;
    }
}
