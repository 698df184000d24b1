package dev.plateau.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.plateau.testing.ChildJvm;
import dev.plateau.testing.Chromium;
import dev.plateau.testing.Scrape;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The status page in Debian's headless Chromium against a real daemon: the shipped fashion model
 * with a fine-tune on the device behind it, its anchor images replayed as a camera would deliver
 * them, and a token the page asks for. The screenshot goes to {@code target/status-page.png}
 * (and to {@code -Dplateau.screenshot=FILE} when given, which is how the README's is made).
 */
class StatusPageBrowserTest {
    private static final Path FASHION = Path.of(System.getProperty("plateau.test.models", "models"), "fashion-cnn")
            .toAbsolutePath();
    private static final Path BRIDGE = FASHION.resolveSibling("bridge-vibration");
    private static final String TOKEN = "page-token";
    /** Images per class for the fine-tune: enough for the gate to decide, little enough for a quick run. */
    private static final int PER_CLASS = 24;

    @TempDir
    Path tmp;

    /** Anchor images under a darker exposure with sensor noise: a camera the shipped model has not seen. */
    private Path shiftedData() throws Exception {
        Random noise = new Random(7);
        Path data = tmp.resolve("data");
        try (Stream<Path> labels = Files.list(FASHION.resolve("anchor"))) {
            for (Path label : labels.sorted().toList()) {
                List<Path> files;
                try (Stream<Path> s = Files.list(label)) {
                    files = s.sorted().limit(PER_CLASS).toList();
                }
                Path out = Files.createDirectories(data.resolve(label.getFileName().toString()));
                for (Path f : files) {
                    BufferedImage in = ImageIO.read(f.toFile());
                    BufferedImage o = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
                    for (int y = 0; y < in.getHeight(); y++) {
                        for (int x = 0; x < in.getWidth(); x++) {
                            int v = (int) Math.round((in.getRaster().getSample(x, y, 0)) * 0.5 + noise.nextGaussian() * 20);
                            o.getRaster().setSample(x, y, 0, Math.max(0, Math.min(255, v)));
                        }
                    }
                    ImageIO.write(o, "png", out.resolve(f.getFileName().toString()).toFile());
                }
            }
        }
        return data;
    }

    @Test
    void statusPage_inHeadlessChromium_showsTheModelsARecentPredictionAndTheFineTuneChart() throws Exception {
        Path state = tmp.resolve("state");
        ChildJvm tune = ChildJvm.start(Map.of(), "tune", "-m", FASHION.toString(), "-d", shiftedData().toString(),
                "--store", state.toString());
        assertTrue(tune.process().waitFor(240, TimeUnit.SECONDS), "tune did not finish: " + tune.lines());
        assertTrue(tune.awaitOutputEnd(10));
        int tuned = tune.process().exitValue();
        assertTrue(tuned == 0 || tuned == 3, "tune: exit " + tuned + ": " + tune.lines());

        Path token = Files.writeString(tmp.resolve("token"), TOKEN);
        Path config = Files.writeString(tmp.resolve("device.yaml"), """
                device: {group: test, node: page}
                state_dir: %s
                models:
                  - {name: fashion-cnn, bundle: %s}
                  - {name: bridge-vibration, bundle: %s}
                sources:
                  - {name: camera, type: replay, model: fashion-cnn, path: %s, rate_hz: 5, shuffle: true}
                  - {name: deck-sensor, type: replay, model: bridge-vibration, path: %s, rate_hz: 4, shuffle: true}
                http: {listen: '127.0.0.1:0', token_file: %s}
                """.formatted(state, FASHION, BRIDGE, FASHION.resolve("anchor"), BRIDGE.resolve("anchor"), token));
        ChildJvm daemon = ChildJvm.start(Map.of(), "run", "-c", config.toString());
        try (Chromium browser = Chromium.start(tmp.resolve("profile"), 1280, 1080)) {
            assertTrue(daemon.awaitLine("plateau ready", 30), daemon.lines().toString());
            browser.navigate(Scrape.base(daemon) + "/");

            // Without the token the page asks for it, and shows nothing of the device.
            assertTrue(browser.await("!document.getElementById('login').hidden", Duration.ofSeconds(20)),
                    "no token prompt");
            assertEquals(0, browser.evaluate("document.querySelectorAll('section.model').length").asInt());
            browser.evaluate("document.getElementById('token').value = '" + TOKEN + "';"
                    + "document.getElementById('login').requestSubmit(); true");

            assertTrue(browser.await("document.body.dataset.loaded === 'true'", Duration.ofSeconds(20)),
                    "the page never loaded /api/status: " + browser.evaluate("document.body.innerText"));
            String card = "document.querySelector('section.model[data-model=\"fashion-cnn\"]')";
            assertTrue(browser.await(card + " !== null", Duration.ofSeconds(5)), "no model card");
            JsonNode labels = browser.evaluate("Array.from(" + card + ".querySelectorAll('.prediction .label'))"
                    + ".map(e => e.textContent)");
            assertTrue(browser.await(card + ".querySelectorAll('.prediction img').length >= 3", Duration.ofSeconds(20)),
                    "no recent predictions with thumbnails: " + labels);
            JsonNode shown = browser.evaluate("Array.from(" + card + ".querySelectorAll('.prediction .label'))"
                    + ".map(e => e.textContent)");
            List<String> fashion = List.of("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                    "sneaker", "bag", "ankle-boot");
            shown.forEach(l -> assertTrue(fashion.contains(l.asText()), "not a label of the model: " + shown));
            assertTrue(browser.evaluate(card + ".querySelector('.prediction img').naturalWidth === 28").asBoolean(),
                    "the thumbnail is not the 28x28 input");
            assertTrue(browser.evaluate(card + ".querySelector('.version').textContent").asText().matches("v\\d+"));
            int points = browser.evaluate(card + ".querySelector('svg.finetune-chart polyline[data-series=\"train loss\"]')"
                    + ".getAttribute('points').trim().split(' ').length").asInt();
            assertTrue(points >= 2, "the fine-tune chart has " + points + " epoch(s) of train loss");
            assertTrue(browser.evaluate(card + ".querySelector('svg.finetune-chart.accuracy polyline') !== null")
                    .asBoolean(), "no accuracy curve");
            assertTrue(browser.evaluate(card + ".querySelector('.finetune b').textContent").asText()
                    .matches("accepted|rejected"));

            String windows = "document.querySelector('section.model[data-model=\"bridge-vibration\"]')";
            assertTrue(browser.await(windows + ".querySelectorAll('.prediction canvas.sparkline').length >= 1",
                    Duration.ofSeconds(20)), "no window sparkline for the vibration model");

            // One refresh later the page still draws: it refreshes itself.
            String before = browser.evaluate("document.getElementById('updated').textContent").asText();
            assertTrue(browser.await("document.getElementById('updated').textContent !== '" + before + "'",
                    Duration.ofSeconds(10)), "the page did not refresh");
            byte[] png = browser.screenshot();
            Files.write(Path.of("target", "status-page.png"), png);
            String keep = System.getProperty("plateau.screenshot");
            if (keep != null && !keep.isBlank()) {
                Files.write(Path.of(keep), png);
            }
            assertTrue(png.length > 10_000, "screenshot of " + png.length + " bytes");
        } finally {
            daemon.signal("TERM");
            if (!daemon.process().waitFor(30, TimeUnit.SECONDS)) {
                daemon.process().destroyForcibly();
            }
        }
    }
}
