package dev.plateau.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The status page a technician opens next to the device: three files served from the jar (no
 * CDN, works offline) that fetch {@code /api/status} every few seconds and draw it. The JSON is
 * the fleet's health report per model, plus what a person wants to see beside it: recent
 * predictions with their inputs (thumbnails, windows) and the last fine-tune's report.
 */
final class StatusPage {
    /** The page's files, by the one path segment they are served under. */
    private static final Map<String, String> FILES = Map.of("", "text/html; charset=utf-8",
            "status.js", "text/javascript; charset=utf-8", "status.css", "text/css; charset=utf-8");
    private static final Map<String, String> RESOURCES = Map.of("", "status.html", "status.js", "status.js",
            "status.css", "status.css");

    record Asset(String contentType, byte[] bytes) {}

    private final Map<String, Asset> assets;

    StatusPage() {
        assets = Map.of("", load(""), "status.js", load("status.js"), "status.css", load("status.css"));
    }

    private static Asset load(String segment) {
        String name = RESOURCES.get(segment);
        try (InputStream in = StatusPage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("status page resource " + name + " is missing from the jar");
            }
            return new Asset(FILES.get(segment), in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read status page resource " + name, e);
        }
    }

    boolean serves(String segment) {
        return !segment.isEmpty() && assets.containsKey(segment);
    }

    Asset asset(String segment) {
        return assets.get(segment);
    }

    /** Everything the page draws, in one document. */
    ObjectNode status(DeviceView device, int recentShown) {
        ObjectNode out = Oip.JSON.createObjectNode();
        out.put("ready", device.ready());
        Optional<DeviceView.FleetView> fleet = device.fleet();
        ObjectNode link = out.putObject("fleet");
        link.put("configured", fleet.isPresent());
        fleet.ifPresent(f -> link.put("connected", f.connected()).put("outbox", f.outboxDepth()));
        JsonNode health = Oip.JSON.valueToTree(device.health());
        ArrayNode models = out.putArray("models");
        for (DeviceView.ModelView m : device.models()) {
            ObjectNode model = models.addObject();
            model.put("name", m.name());
            model.put("version", m.version());
            model.put("task", m.manifest().task().name().toLowerCase());
            model.put("decode", m.manifest().input().decode().name().toLowerCase().replace('_', '-'));
            ArrayNode labels = model.putArray("labels");
            m.manifest().output().labels().forEach(labels::add);
            model.set("health", health.path(m.name()));
            ObjectNode rejections = model.putObject("rejections");
            m.stats().rejectedByReason().forEach((reason, n) -> rejections.put(reason.label(), n));
            ArrayNode recent = model.putArray("recent");
            List<DeviceView.Recent> predictions = device.recent(m.name());
            for (DeviceView.Recent r : predictions.subList(0, Math.min(recentShown, predictions.size()))) {
                ObjectNode p = recent.addObject();
                p.put("at", r.at().toString());
                p.put("source", r.source());
                p.put("input", r.input());
                p.put("version", r.version());
                p.put("label", r.label());
                p.put("score", r.score());
                if (r.mediaType().isPresent() && r.content().isPresent()) {
                    p.put("type", r.mediaType().get());
                    p.put("content", Base64.getEncoder().encodeToString(r.content().get()));
                }
            }
            Optional<String> report = device.lastFineTuneReport(m.name());
            if (report.isPresent()) {
                try {
                    model.set("finetune", Oip.JSON.readTree(report.get()));
                } catch (IOException e) {
                    model.put("finetune_error", "report.json is not readable JSON");
                }
            }
        }
        return out;
    }
}
