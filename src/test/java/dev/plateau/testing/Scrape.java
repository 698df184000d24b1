package dev.plateau.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A child daemon's local HTTP API on loopback: its port, as its log names it, and its {@code /metrics}. */
public final class Scrape {
    private static final Pattern LISTENING = Pattern.compile("http: listening on (https?)://127\\.0\\.0\\.1:(\\d+)");

    private Scrape() {}

    /** The port the daemon's log says it listens on with {@code scheme} (http or https); fails when it says none. */
    public static int port(ChildJvm child, String scheme) {
        for (String line : child.lines()) {
            Matcher m = LISTENING.matcher(line);
            if (m.find() && m.group(1).equals(scheme)) {
                return Integer.parseInt(m.group(2));
            }
        }
        throw new AssertionError("no " + scheme + " listening line: " + child.lines());
    }

    /** {@code http://127.0.0.1:PORT}, the plain HTTP API's base address. */
    public static String base(ChildJvm child) {
        return "http://127.0.0.1:" + port(child, "http");
    }

    /** The lines of {@code /metrics} (plain HTTP, no token) that start with {@code family}. */
    public static List<String> lines(ChildJvm child, String family) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(base(child) + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body().lines().filter(l -> l.startsWith(family)).toList();
    }

    /**
     * The lines of {@code family} once they are {@code expected}, or as they are after {@code
     * seconds}: a state the daemon logs or writes to disk reaches its metrics a moment later.
     */
    public static List<String> await(ChildJvm child, String family, List<String> expected, int seconds)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        List<String> lines = lines(child, family);
        while (!lines.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            lines = lines(child, family);
        }
        return lines;
    }
}
