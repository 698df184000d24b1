package dev.plateau.http;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Files2;
import dev.plateau.testing.Fleets;
import dev.plateau.testing.Scrape;
import dev.plateau.testing.Sockets;
import dev.plateau.testing.TinyDevice;
import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plateau run} with an {@code http} section, as a real child process spoken to over
 * loopback sockets: metrics parsed by the Prometheus project's own Python parser, the Open
 * Inference Protocol against {@code plateau infer}, refusals, the token, slow clients.
 */
class HttpProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "t0ken-for-tests";
    private static final int MAX_BYTES = 4096;
    /** Prints every sample as JSON: {name: [{labels, value}]}, and the families' types under "_types". */
    private static final String PARSE = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {"_types": {}}
            for f in text_string_to_metric_families(sys.stdin.read()):
                out["_types"][f.name] = f.type
                for s in f.samples:
                    out.setdefault(s.name, []).append({"labels": s.labels, "value": s.value})
            print(json.dumps(out))
            """;

    @TempDir
    static Path tmp;
    private static ChildJvm child;
    private static String base;
    private static Path tiny;
    private static Path window;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        tiny = TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4());
        window = TinyModels.bundle(tmp.resolve("window"), TinyModels.window3x8());
        Path token = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        Path config = Files.writeString(tmp.resolve("device.yaml"), """
                device: {group: test, node: http}
                state_dir: %s
                models:
                  - {name: tiny, bundle: %s}
                  - {name: window, bundle: %s}
                sources:
                  - {name: images, type: directory, model: tiny, path: %s, poll_ms: 50, settle_ms: 0}
                mqtt: {broker: "tcp://127.0.0.1:%d"}
                http:
                  listen: 127.0.0.1:0
                  token_file: %s
                  max_request_bytes: %d
                  max_concurrent: 1
                  request_timeout_s: 2
                """.formatted(tmp.resolve("state"), tiny, window, tmp.resolve("images"), Fleets.freePort(), token,
                MAX_BYTES));
        child = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        assertTrue(child.awaitLine("plateau ready", 20), "not ready: " + child.lines());
        base = Scrape.base(child);
    }

    @AfterAll
    static void stop() throws Exception {
        if (child != null) {
            child.signal("TERM");
            assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), "did not stop: " + child.lines());
            assertEquals(0, child.process().exitValue(), String.join("\n", child.lines()));
            assertTrue(child.lines().stream().anyMatch(l -> l.contains("http: stopped")), child.lines().toString());
        }
    }

    private HttpResponse<String> get(String path, boolean withToken) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
        if (withToken) {
            b.header("Authorization", "Bearer " + TOKEN);
        }
        return client.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String type, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) {
            b.header("Content-Type", type);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** /metrics through the Prometheus client's own parser. */
    private JsonNode scrape() throws Exception {
        HttpResponse<String> r = get("/metrics", true);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                r.headers().toString());
        Process python = new ProcessBuilder("/usr/bin/python3", "-c", PARSE).redirectErrorStream(false).start();
        try (OutputStream in = python.getOutputStream()) {
            in.write(r.body().getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(python.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(python.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, python.exitValue(), "the Prometheus parser refused /metrics: " + err);
        return JSON.readTree(out);
    }

    /** The value of sample {@code name} with {@code labels} (key, value, ...); fails when absent. */
    private static double sample(JsonNode metrics, String name, String... labels) {
        for (JsonNode s : metrics.path(name)) {
            boolean match = true;
            for (int i = 0; i < labels.length; i += 2) {
                match &= labels[i + 1].equals(s.path("labels").path(labels[i]).asText(null));
            }
            if (match) {
                return s.path("value").asDouble();
            }
        }
        throw new AssertionError("no sample " + name + " " + List.of(labels) + " in " + metrics.path(name));
    }

    private static byte[] middlePng() {
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        px[2] = new int[] {0, 40, 80, 120};
        return Files2.grayPng(px);
    }

    /** The tiny model's input tensor for {@code middlePng()}, as its manifest preprocesses it. */
    private static ObjectNode oipRequest(String id) {
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        px[2] = new int[] {0, 40, 80, 120};
        float scale = (float) 0.00392156862745098;
        ObjectNode req = JSON.createObjectNode().put("id", id);
        ObjectNode t = req.putArray("inputs").addObject();
        t.put("name", "image").put("datatype", "FP32");
        t.putArray("shape").add(1).add(1).add(4).add(4);
        ArrayNode data = t.putArray("data");
        for (int[] row : px) {
            for (int v : row) {
                data.add(v * scale);
            }
        }
        return req;
    }

    /** {@code plateau infer}'s JSON line for {@code file} on {@code bundle}. */
    private static JsonNode plateauInfer(Path bundle, Path file) throws Exception {
        ChildJvm infer = ChildJvm.start(Map.of(), "infer", "-m", bundle.toString(), file.toString());
        assertTrue(infer.process().waitFor(60, TimeUnit.SECONDS));
        assertTrue(infer.awaitOutputEnd(10));
        assertEquals(0, infer.process().exitValue(), infer.lines().toString());
        String line = infer.lines().stream().filter(l -> l.startsWith("{")).findFirst().orElseThrow();
        return JSON.readTree(line);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).floatValue();
        }
        return out;
    }

    private static JsonNode output(JsonNode response, String name) {
        for (JsonNode o : response.path("outputs")) {
            if (o.path("name").asText().equals(name)) {
                return o;
            }
        }
        throw new AssertionError("no output " + name + " in " + response);
    }

    /** Asserts that the OIP {@code response} says what {@code plateau infer} said. */
    private static void assertSameAs(JsonNode cli, JsonNode response) {
        JsonNode labels = cli.path("scores");
        float[] expected = new float[labels.size()];
        Iterator<String> names = labels.fieldNames();
        for (int i = 0; names.hasNext(); i++) {
            expected[i] = labels.get(names.next()).floatValue();
        }
        assertEquals(cli.path("label").asText(), output(response, "label").path("data").get(0).asText(),
                response.toString());
        assertArrayEquals(expected, floats(output(response, "scores").path("data")), response.toString());
    }

    @Test
    void metrics_parsedByThePrometheusParser_countersMoveAsInputsAreInferred() throws Exception {
        JsonNode before = scrape();
        assertEquals("counter", before.path("_types").path("plateau_inferences").asText(), before.toString());
        assertEquals("histogram", before.path("_types").path("plateau_inference_duration_seconds").asText());
        assertTrue(before.has("jvm_memory_used_bytes") && before.has("process_cpu_seconds_total"),
                "JVM and process metrics: " + before.fieldNames());
        for (int i = 0; i < 3; i++) {
            Files2.drop(tmp.resolve("images/good-" + i + ".png"), middlePng());
        }
        Files2.drop(tmp.resolve("images/broken.png"), "not a png".getBytes(StandardCharsets.UTF_8));
        assertTrue(awaitFile(tmp.resolve("images/rejected/broken.png")), child.lines().toString());
        for (int i = 0; i < 3; i++) {
            assertTrue(awaitFile(tmp.resolve("images/processed/good-" + i + ".png")), child.lines().toString());
        }
        assertEquals(200, post("/v2/models/tiny-gray/infer", "image/png", middlePng()).statusCode());
        JsonNode after = scrape();
        assertAll(
                () -> assertEquals(4, sample(after, "plateau_inferences_total", "model", "tiny-gray")
                        - sample(before, "plateau_inferences_total", "model", "tiny-gray")),
                () -> assertEquals(1, sample(after, "plateau_input_rejections_total", "model", "tiny-gray", "reason",
                        "unsupported-format") - sample(before, "plateau_input_rejections_total", "model", "tiny-gray",
                        "reason", "unsupported-format")),
                () -> assertEquals(4, sample(after, "plateau_inference_duration_seconds_count", "model", "tiny-gray")
                        - sample(before, "plateau_inference_duration_seconds_count", "model", "tiny-gray")),
                () -> assertEquals(4, sample(after, "plateau_input_duration_seconds_count", "model", "tiny-gray")
                        - sample(before, "plateau_input_duration_seconds_count", "model", "tiny-gray")),
                () -> assertEquals(sample(after, "plateau_inference_duration_seconds_count", "model", "tiny-gray"),
                        sample(after, "plateau_inference_duration_seconds_bucket", "model", "tiny-gray", "le", "+Inf")),
                () -> assertEquals(0, sample(after, "plateau_model_active_version", "model", "tiny-gray")),
                () -> assertEquals(1, sample(after, "plateau_model_probation", "model", "tiny-gray", "state", "none")),
                () -> assertEquals(1, sample(after, "plateau_ready")),
                () -> assertTrue(sample(after, "plateau_http_requests_total", "handler", "infer", "code", "2xx") >= 1));
    }

    /** Every metric the shipped Grafana dashboard queries is one this daemon serves. */
    @Test
    void grafanaDashboard_queriesOnlyServedMetrics_andEveryPanelHasAQuery() throws Exception {
        JsonNode dashboard = JSON.readTree(Path.of("device-config/grafana/plateau-dashboard.json").toFile());
        JsonNode served = scrape();
        // Families only some devices serve, each checked in a process test of its own.
        Map<String, String> conditional = Map.of(
                "plateau_drift_detected", "DriftProcessTest: a model with a drift section",
                "plateau_alarm_raised", "AlarmProcessTest: a source with a deck-level alarm");
        Pattern metric = Pattern.compile("\\b((?:plateau|jvm|process)_[a-z_]+)\\b");
        Set<Integer> ids = new HashSet<>();
        List<String> missing = new ArrayList<>();
        int queried = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            assertTrue(ids.add(panel.path("id").asInt()), "panel ids repeat: " + panel.path("id"));
            assertFalse(panel.path("targets").isEmpty(), "no query in panel " + panel.path("title"));
            for (JsonNode target : panel.path("targets")) {
                Matcher m = metric.matcher(target.path("expr").asText());
                while (m.find()) {
                    queried++;
                    String name = m.group(1);
                    String family = name.replaceFirst("_(total|bucket|sum|count)$", "");
                    if (!served.has(name) && !served.path("_types").has(family) && !conditional.containsKey(name)) {
                        missing.add(panel.path("title").asText() + ": " + name);
                    }
                }
            }
        }
        assertTrue(queried >= 20, "the dashboard queries " + queried + " metrics");
        assertEquals(List.of(), missing, "queried by the dashboard, not served");
        assertEquals(0, sample(served, "plateau_fleet_connected"), "the broker is not there");
    }

    private static boolean awaitFile(Path file) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(file)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    @Test
    void infer_oipJsonTensorSentWithCurl_returnsTheLabelAndScoresOfPlateauInfer() throws Exception {
        Path file = Files.write(tmp.resolve("same.png"), middlePng());
        JsonNode cli = plateauInfer(tiny, file);
        Path request = Files.writeString(tmp.resolve("request.json"), oipRequest("req-1").toString());
        Curl.Reply r = Curl.run(tmp, base + "/v2/models/tiny-gray/infer", "-H", "Authorization: Bearer " + TOKEN,
                "-H", "Content-Type: application/json", "--data-binary", "@" + request);
        assertEquals(200, r.status(), r.toString());
        JsonNode response = JSON.readTree(r.body());
        assertAll(
                () -> assertEquals("tiny-gray", response.path("model_name").asText()),
                () -> assertEquals("0", response.path("model_version").asText()),
                () -> assertEquals("req-1", response.path("id").asText()),
                () -> assertSameAs(cli, response));
    }

    @Test
    void infer_rawPngAndCsvBodies_returnTheLabelAndScoresOfPlateauInfer() throws Exception {
        Path png = Files.write(tmp.resolve("raw.png"), middlePng());
        HttpResponse<String> image = post("/v2/models/tiny-gray/infer", "image/png", middlePng());
        assertEquals(200, image.statusCode(), image.body());
        assertSameAs(plateauInfer(tiny, png), JSON.readTree(image.body()));

        String csv = Files2.window("ax,ay,az", 8);
        Path windowFile = Files.writeString(tmp.resolve("raw.csv"), csv);
        HttpResponse<String> w = post("/v2/models/tiny-window/infer", "text/csv; charset=utf-8",
                csv.getBytes(StandardCharsets.UTF_8));
        assertEquals(200, w.statusCode(), w.body());
        assertSameAs(plateauInfer(window, windowFile), JSON.readTree(w.body()));
    }

    @Test
    void badRequests_answer4xxWithTheReason_andTheDaemonGoesOn() throws Exception {
        byte[] json = oipRequest("x").toString().getBytes(StandardCharsets.UTF_8);
        ObjectNode wrongType = oipRequest("x");
        ((ObjectNode) wrongType.path("inputs").get(0)).put("datatype", "INT64");
        ObjectNode wrongShape = oipRequest("x");
        ((ArrayNode) wrongShape.path("inputs").get(0).path("shape")).removeAll().add(1).add(3).add(4).add(4);
        ObjectNode shortData = oipRequest("x");
        ((ArrayNode) shortData.path("inputs").get(0).path("data")).remove(0);
        ObjectNode infinite = oipRequest("x");
        ((ArrayNode) infinite.path("inputs").get(0).path("data")).set(3, JSON.getNodeFactory().numberNode(1e39));
        ObjectNode wrongName = oipRequest("x");
        ((ObjectNode) wrongName.path("inputs").get(0)).put("name", "pixels");
        assertAll(
                () -> assertRefused(post("/v2/models/nope/infer", "application/json", json), 404, "unknown model"),
                () -> assertRefused(get("/v2/models/tiny-gray/versions/7", true), 404, "not served, the active version is 0"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/xml", json), 415, "Content-Type"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", null, json), 415, "found none"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "text/csv", json), 415, "takes image/png"),
                () -> assertRefused(post("/v2/models/tiny-window/infer", "image/png", middlePng()), 415, "takes text/csv"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "image/png", "not a png".getBytes()), 400,
                        "unsupported-format: request-"),
                () -> assertRefused(post("/v2/models/tiny-window/infer", "text/csv", Files2.window("ax,ay,az", 5)
                        .getBytes(StandardCharsets.UTF_8)), 400, "wrong-size"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", "{\"inputs\": [".getBytes()),
                        400, "not JSON (line 1"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", bytes(wrongType)), 400,
                        "datatype: expected FP32 (the model's input), found INT64"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", bytes(wrongShape)), 400,
                        "expected [N, 1, 4, 4]"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", bytes(shortData)), 400,
                        "15 values for shape [1, 1, 4, 4], expected 16"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", bytes(infinite)), 400,
                        "not-finite: tensor-"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "application/json", bytes(wrongName)), 400,
                        "expected 'image'"),
                () -> assertRefused(post("/v2/models/tiny-gray/infer", "image/png", new byte[MAX_BYTES + 1]), 413,
                        "at most " + MAX_BYTES),
                () -> assertRefused(get("/v2/models/tiny-gray/infer", true), 405, "expected POST"),
                () -> assertRefused(post("/metrics", "text/plain", new byte[1]), 405, "expected GET"),
                () -> assertRefused(get("/v2/models/tiny-gray/../../../etc/passwd", true), 404, "not found"),
                () -> assertRefused(get("/status.js/../../pom.xml", true), 404, "not found"),
                () -> assertRefused(get("/v2/models/tiny-gray%2F..%2F..%2Fpom.xml", true), 404, "unknown model"));
        assertTrue(child.process().isAlive(), child.lines().toString());
        assertEquals(200, post("/v2/models/tiny-gray/infer", "image/png", middlePng()).statusCode());
        assertTrue(child.lines().stream().noneMatch(l -> l.contains(" ERROR ")), "an error logged: " + child.lines());
    }

    private static byte[] bytes(JsonNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void assertRefused(HttpResponse<String> r, int status, String reason) throws IOException {
        assertEquals(status, r.statusCode(), r.uri() + ": " + r.body());
        JsonNode body = JSON.readTree(r.body());
        assertTrue(body.path("error").asText().contains(reason), r.uri() + ": expected '" + reason + "' in " + r.body());
        assertTrue(!body.path("error").asText().contains(tmp.toString()), "a device path in " + r.body());
    }

    @Test
    void token_missingOrWrong_answers401_andThePageItselfIsPublic() throws Exception {
        HttpResponse<String> none = get("/metrics", false);
        assertEquals(401, none.statusCode(), none.body());
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        HttpResponse<String> wrong = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/health/ready"))
                .header("Authorization", "Bearer not-the-token").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, wrong.statusCode(), wrong.body());
        assertEquals(401, get("/api/status", false).statusCode());
        assertEquals(401, client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/tiny-gray/infer"))
                .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(middlePng())).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<String> page = get("/", false);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<script src=\"status.js\">"), page.body());
        assertEquals(200, get("/status.js", false).statusCode());
        assertEquals(200, get("/metrics", true).statusCode());
    }

    @Test
    void health_liveReadyAndModelMetadata_inTheProtocolsForm() throws Exception {
        assertEquals("{\"live\":true}", get("/v2/health/live", true).body());
        assertEquals("{\"ready\":true}", get("/v2/health/ready", true).body());
        assertEquals(200, get("/v2/models/tiny-gray/ready", true).statusCode());
        JsonNode meta = JSON.readTree(get("/v2/models/tiny-gray", true).body());
        assertEquals(meta, JSON.readTree(get("/v2/models/tiny-gray/versions/0", true).body()));
        assertAll(
                () -> assertEquals("tiny-gray", meta.path("name").asText()),
                () -> assertEquals("[\"0\"]", meta.path("versions").toString()),
                () -> assertEquals("image", meta.path("inputs").get(0).path("name").asText()),
                () -> assertEquals("FP32", meta.path("inputs").get(0).path("datatype").asText()),
                () -> assertEquals("[-1,1,4,4]", meta.path("inputs").get(0).path("shape").toString()),
                () -> assertEquals("[\"top\",\"middle\",\"lower\"]", meta.path("parameters").path("labels").toString()));
        JsonNode status = JSON.readTree(get("/api/status", true).body());
        assertEquals("tiny-gray", status.path("models").get(0).path("name").asText());
        assertTrue(status.path("models").get(0).path("health").has("inferences"), status.toString());
    }

    @Test
    void slowClient_holdingTheOnlySlot_othersGet503_thenItIsCutOffAndTheSlotFrees() throws Exception {
        try (Socket slow = new Socket("127.0.0.1", URI.create(base).getPort())) {
            slow.setSoTimeout(15_000);
            OutputStream out = slow.getOutputStream();
            out.write(("POST /v2/models/tiny-gray/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[10]);
            out.flush();
            long start = System.nanoTime();
            HttpResponse<String> busy = null;
            // The slow request holds the one slot as soon as its headers are read, until it is cut
            // off 2 s on: try for most of that (50 tries were once not enough on a loaded machine).
            long deadline = start + TimeUnit.MILLISECONDS.toNanos(1_800);
            while (System.nanoTime() < deadline && (busy == null || busy.statusCode() != 503)) {
                busy = post("/v2/models/tiny-gray/infer", "image/png", middlePng());
                Thread.sleep(10);
            }
            assertRefused(busy, 503, "overloaded: 1 inferences in flight");
            assertEquals("1", busy.headers().firstValue("Retry-After").orElse(""));
            assertEquals(200, get("/v2/health/live", true).statusCode(), "health must not wait on inferences");
            InputStream in = slow.getInputStream();
            byte[] answer = new byte[512];
            int n;
            try {
                n = in.read(answer);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("a client sending 10 of 1000 bytes was not cut off within 15 s");
            } catch (IOException e) {
                n = -1;
            }
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds <= 6, "cut off after " + seconds + " s, the timeout is 2 s; read " + n);
        }
        HttpResponse<String> after = null;
        for (int i = 0; i < 100 && (after == null || after.statusCode() != 200); i++) {
            after = post("/v2/models/tiny-gray/infer", "image/png", middlePng());
            Thread.sleep(20);
        }
        assertEquals(200, after.statusCode(), after.body());
    }

    @Test
    void listening_withHttp_exactlyTheHttpPort() throws Exception {
        assertEquals(List.of(URI.create(base).getPort()), Sockets.listeningPorts(child.process().pid()));
    }

    @Test
    void run_withoutHttpSection_nothingListens(@TempDir Path own) throws Exception {
        ChildJvm plain = ChildJvm.start(Map.of(), "run", "-c", TinyDevice.config(own, null).toString());
        try {
            assertTrue(plain.awaitLine("plateau ready", 20), plain.lines().toString());
            assertEquals(List.of(), Sockets.listeningPorts(plain.process().pid()));
            assertTrue(plain.lines().stream().noneMatch(l -> l.contains("http:")), plain.lines().toString());
        } finally {
            plain.process().destroyForcibly();
            plain.process().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
