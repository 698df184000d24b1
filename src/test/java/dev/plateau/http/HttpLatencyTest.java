package dev.plateau.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.Prediction;
import dev.plateau.model.ModelBundle;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Scrape;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the HTTP path adds per request (README: Local HTTP API): one fashion image classified in
 * process ({@link InferenceEngine#infer(Path)}, what {@code plateau infer} does per file) and
 * over loopback by a running daemon, as a raw PNG body and as Open Inference Protocol JSON,
 * interleaved one by one so both see the same machine. Run twice: with the sample store (the
 * default; every input is kept durably) and without it, which leaves the HTTP layer's own cost.
 *
 * <p>{@code mvn -B test -Dgroups=slow -Dtest=HttpLatencyTest}; prints one line per case.
 */
@Tag("slow")
class HttpLatencyTest {
    private static final Path FASHION = Path.of(System.getProperty("plateau.test.models", "models"), "fashion-cnn")
            .toAbsolutePath();
    private static final int WARMUP = 300;
    private static final int ROUNDS = Integer.getInteger("plateau.latency.rounds", 2000);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void httpInfer_versusInProcess_addedLatencyPerRequest() throws Exception {
        Path file;
        try (Stream<Path> s = Files.walk(FASHION.resolve("anchor"))) {
            file = s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        }
        byte[] png = Files.readAllBytes(file);
        byte[] oip = oipRequest(file).toString().getBytes();
        for (boolean samples : new boolean[] {true, false}) {
            measure(file, png, oip, samples);
        }
    }

    private void measure(Path file, byte[] png, byte[] oip, boolean samples) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(samples ? "with-samples" : "without-samples"));
        Path config = Files.writeString(dir.resolve("device.yaml"), """
                device: {group: test, node: latency}
                state_dir: %s
                inference: {threads: 1}
                models:
                  - {name: fashion-cnn, bundle: %s}
                samples: {enabled: %s}
                http: {listen: '127.0.0.1:0'}
                """.formatted(dir.resolve("state"), FASHION, samples));
        ChildJvm daemon = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        OrtEnvironment env = OrtRuntime.environment(1);
        try (InferenceEngine local = InferenceEngine.load(ModelBundle.open(FASHION), env, 1)) {
            assertTrue(daemon.awaitLine("plateau ready", 30), daemon.lines().toString());
            URI infer = URI.create(Scrape.base(daemon) + "/v2/models/fashion-cnn/infer");
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest raw = HttpRequest.newBuilder(infer).header("Content-Type", "image/png")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build();
            HttpRequest json = HttpRequest.newBuilder(infer).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(oip)).build();
            Prediction expected = local.infer(file);
            long[] inProcess = new long[ROUNDS];
            long[] overRaw = new long[ROUNDS];
            long[] overJson = new long[ROUNDS];
            for (int i = -WARMUP; i < ROUNDS; i++) {
                long t0 = System.nanoTime();
                Prediction p = local.infer(file);
                long t1 = System.nanoTime();
                HttpResponse<String> r = client.send(raw, HttpResponse.BodyHandlers.ofString());
                long t2 = System.nanoTime();
                HttpResponse<String> j = client.send(json, HttpResponse.BodyHandlers.ofString());
                long t3 = System.nanoTime();
                if (i == 0) {
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals(200, j.statusCode(), j.body());
                    assertEquals(expected.label(), p.label());
                    for (String body : new String[] {r.body(), j.body()}) {
                        JsonNode label = JSON.readTree(body).path("outputs").get(2).path("data").get(0);
                        assertEquals(expected.label(), label.asText(), body);
                    }
                }
                if (i >= 0) {
                    inProcess[i] = t1 - t0;
                    overRaw[i] = t2 - t1;
                    overJson[i] = t3 - t2;
                }
            }
            String store = samples ? "sample store on " : "sample store off";
            System.out.println(line(store, "in process (plateau infer's path)", inProcess, null));
            System.out.println(line(store, "HTTP raw image/png", overRaw, inProcess));
            System.out.println(line(store, "HTTP OIP JSON tensor", overJson, inProcess));
        } finally {
            daemon.signal("TERM");
            if (!daemon.process().waitFor(30, TimeUnit.SECONDS)) {
                daemon.process().destroyForcibly();
            }
        }
    }

    private static String line(String store, String what, long[] nanos, long[] reference) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double p50 = s[s.length / 2] / 1e3;
        double p99 = s[(int) Math.ceil(s.length * 0.99) - 1] / 1e3;
        String added = "";
        if (reference != null) {
            long[] r = reference.clone();
            Arrays.sort(r);
            added = String.format(Locale.ROOT, "  added p50 %.0f us, p99 %.0f us", p50 - r[r.length / 2] / 1e3,
                    p99 - r[(int) Math.ceil(r.length * 0.99) - 1] / 1e3);
        }
        return String.format(Locale.ROOT, "latency %s | %-34s n=%d p50 %.0f us p99 %.0f us%s", store, what, s.length,
                p50, p99, added);
    }

    /** The OIP request for {@code file}: its pixels as the manifest preprocesses them (scale 1/255, mean 0, std 1). */
    private static ObjectNode oipRequest(Path file) throws Exception {
        BufferedImage img = ImageIO.read(file.toFile());
        float scale = (float) 0.00392156862745098;
        ObjectNode req = JSON.createObjectNode();
        ObjectNode t = req.putArray("inputs").addObject();
        t.put("name", "image").put("datatype", "FP32");
        t.putArray("shape").add(1).add(1).add(img.getHeight()).add(img.getWidth());
        ArrayNode data = t.putArray("data");
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                data.add(img.getRaster().getSample(x, y, 0) * scale);
            }
        }
        return req;
    }
}
