package dev.plateau.http;

import org.tinylog.Logger;

/**
 * The JDK server's own limits on slow clients, which it reads once per process from system
 * properties: a request (headers and body) must arrive within the timeout, a response must be
 * taken within it, and an idle kept-alive connection is closed after it.
 */
final class Timeouts {
    private static final String REQUEST = "sun.net.httpserver.maxReqTime";
    private static final String RESPONSE = "sun.net.httpserver.maxRspTime";
    private static final String IDLE = "sun.net.httpserver.idleInterval";
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
        applied = seconds;
    }
}
