package dev.plateau.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.Scrape;
import dev.plateau.testing.TinyModels;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plateau run} serving HTTPS from a PKCS12 key store, spoken to with {@code curl} as an
 * operator would. The key store is the test CA's {@code localhost} certificate (test resources
 * {@code tls/}, never to be trusted anywhere else).
 */
class HttpTlsTest {
    private static final String TOKEN = "tls-t0ken";

    @TempDir
    static Path tmp;
    private static ChildJvm child;
    private static int port;

    private static Path tls(String name) throws URISyntaxException {
        return Path.of(HttpTlsTest.class.getResource("/tls/" + name).toURI());
    }

    private static Path config(Path dir, Path passwordFile) throws Exception {
        Path tiny = TinyModels.bundle(dir.resolve("gray"), TinyModels.gray4x4());
        Path token = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        return Files.writeString(dir.resolve("device.yaml"), """
                device: {group: test, node: https}
                state_dir: %s
                models:
                  - {name: tiny, bundle: %s}
                http:
                  listen: 127.0.0.1:0
                  token_file: %s
                  tls: {keystore: %s, keystore_password_file: %s}
                """.formatted(dir.resolve("state"), tiny, token, tls("broker.p12"), passwordFile));
    }

    @BeforeAll
    static void start() throws Exception {
        child = ChildJvm.start(Map.of(), "run", "-c", config(tmp, tls("password")).toString());
        assertTrue(child.awaitLine("plateau ready", 20), "not ready: " + child.lines());
        port = Scrape.port(child, "https");
    }

    @AfterAll
    static void stop() throws Exception {
        if (child != null) {
            child.signal("TERM");
            assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "did not stop: " + child.lines());
        }
    }

    /** curl to {@code https://localhost:PORT/path}, localhost pinned to the loopback address the daemon binds. */
    private static Curl.Reply curl(String scheme, String path, String... args) throws Exception {
        String[] all = new String[args.length + 2];
        all[0] = "--resolve";
        all[1] = "localhost:" + port + ":127.0.0.1";
        System.arraycopy(args, 0, all, 2, args.length);
        return Curl.run(tmp, scheme + "://localhost:" + port + path, all);
    }

    @Test
    void https_trustedCaAndToken_servesHealthMetricsAndInference() throws Exception {
        String ca = tls("ca.crt").toString();
        Curl.Reply ready = curl("https", "/v2/health/ready", "--cacert", ca, "-H", "Authorization: Bearer " + TOKEN);
        assertEquals(200, ready.status(), ready.toString());
        assertEquals("{\"ready\":true}", ready.body());
        Curl.Reply metrics = curl("https", "/metrics", "--cacert", ca, "-H", "Authorization: Bearer " + TOKEN);
        assertEquals(200, metrics.status(), metrics.toString());
        assertTrue(metrics.body().contains("plateau_ready 1"), metrics.body());

        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        Path png = Files.write(tmp.resolve("middle.png"), Files2.grayPng(px));
        Curl.Reply infer = curl("https", "/v2/models/tiny-gray/infer", "--cacert", ca,
                "-H", "Authorization: Bearer " + TOKEN, "-H", "Content-Type: image/png", "--data-binary", "@" + png);
        assertEquals(200, infer.status(), infer.toString());
        String label = null;
        for (JsonNode o : new ObjectMapper().readTree(infer.body()).path("outputs")) {
            label = o.path("name").asText().equals("label") ? o.path("data").get(0).asText() : label;
        }
        assertEquals("middle", label, infer.body());
    }

    @Test
    void https_withoutTheToken_401() throws Exception {
        Curl.Reply r = curl("https", "/metrics", "--cacert", tls("ca.crt").toString());
        assertEquals(401, r.status(), r.toString());
    }

    @Test
    void https_serverCertificateNotTrusted_curlRefusesAndNothingIsAnswered() throws Exception {
        Curl.Reply r = curl("https", "/v2/health/live");
        assertEquals(60, r.exit(), "curl: peer certificate cannot be authenticated: " + r);
        assertEquals(0, r.status(), r.toString());
    }

    @Test
    void plainHttp_onTheTlsPort_getsNoAnswer_andTheDaemonGoesOn() throws Exception {
        Curl.Reply r = curl("http", "/v2/health/live", "-H", "Authorization: Bearer " + TOKEN);
        assertEquals(0, r.status(), "plain HTTP answered on the TLS port: " + r);
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(child.process().isAlive(), child.lines().toString());
        assertEquals(200, curl("https", "/v2/health/live", "--cacert", tls("ca.crt").toString(),
                "-H", "Authorization: Bearer " + TOKEN).status());
    }

    @Test
    void run_wrongKeyStorePassword_refusesToStartAndSaysWhy(@TempDir Path own) throws Exception {
        Path wrong = Files.writeString(own.resolve("wrong-password"), "not-the-password\n");
        ChildJvm bad = ChildJvm.start(Map.of(), "run", "-c", config(own, wrong).toString());
        try {
            assertTrue(bad.process().waitFor(30, TimeUnit.SECONDS), "still running: " + bad.lines());
            assertTrue(bad.awaitOutputEnd(10));
            assertNotEquals(0, bad.process().exitValue(), bad.lines().toString());
            assertTrue(bad.lines().stream().anyMatch(l -> l.contains("http.tls: cannot load the key store")),
                    bad.lines().toString());
            assertTrue(bad.lines().stream().noneMatch(l -> l.contains("plateau ready")), bad.lines().toString());
        } finally {
            bad.process().destroyForcibly();
        }
    }
}
