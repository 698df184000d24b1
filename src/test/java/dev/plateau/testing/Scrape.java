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

/** A child daemon's {@code /metrics} over plain HTTP without a token, at the port its log names. */
public final class Scrape {
    private static final Pattern LISTENING = Pattern.compile("http: listening on http://127\\.0\\.0\\.1:(\\d+)");

    private Scrape() {}

    /** The lines of {@code /metrics} that start with {@code family}. */
    public static List<String> lines(ChildJvm child, String family) throws IOException, InterruptedException {
        Matcher m = child.lines().stream().map(LISTENING::matcher).filter(Matcher::find).findFirst()
                .orElseThrow(() -> new AssertionError("no http listening line: " + child.lines()));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + m.group(1) + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
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
