package dev.plateau.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.plateau.inference.InferenceException;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.Prediction;
import dev.plateau.model.Manifest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import org.tinylog.Logger;

/**
 * Every path the server answers, in one place: the static status page (public: it holds no
 * data), and behind the token {@code /metrics}, {@code /api/status} and the Open Inference
 * Protocol under {@code /v2}. Paths are matched exactly, segment by segment, against fixed names
 * and the configured models; nothing from a URL ever names a file.
 */
final class Routes implements HttpHandler {
    /** The raw bodies {@code infer} takes, by media type, as the file extension the decoders know. */
    private static final Map<String, String> RAW_TYPES = Map.of("image/png", "png", "image/jpeg", "jpg",
            "text/csv", "csv");
    private static final String JSON = "application/json";
    private static final List<String> HANDLERS = List.of("page", "metrics", "status", "health", "metadata", "infer",
            "other");
    /** A status page refresh reads this many recent predictions per model. */
    private static final int RECENT_SHOWN = 8;

    private final DeviceView device;
    private final Optional<byte[]> token;
    private final long maxBytes;
    private final int maxConcurrent;
    private final Semaphore inferring;
    private final Metrics metrics;
    private final StatusPage page = new StatusPage();

    Routes(DeviceView device, Optional<byte[]> token, long maxBytes, int maxConcurrent) {
        this.device = device;
        this.token = token;
        this.maxBytes = maxBytes;
        this.maxConcurrent = maxConcurrent;
        this.inferring = new Semaphore(maxConcurrent);
        this.metrics = new Metrics(device, HANDLERS);
    }

    /** A refusal with its status and the reason the client reads. */
    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        Refusal(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    @Override
    public void handle(HttpExchange ex) {
        String handler = "other";
        int status = 500;
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String[] seg = segments(path);
            handler = handlerOf(seg);
            try {
                status = route(ex, seg);
            } catch (Refusal r) {
                status = r.status;
                if (status == 503) {
                    ex.getResponseHeaders().set("Retry-After", "1");
                }
                if (status == 401) {
                    ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"plateau\"");
                }
                send(ex, status, JSON, Oip.error(r.getMessage()).toString().getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The client went away or was too slow; nothing to answer.
            Logger.debug("http: {} {}: {}", ex.getRequestMethod(), handler, e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "http: {} {} failed", ex.getRequestMethod(), handler);
            try {
                send(ex, 500, JSON, Oip.error("internal error: " + e.getClass().getSimpleName())
                        .toString().getBytes(StandardCharsets.UTF_8));
            } catch (IOException | RuntimeException ignored) {
                // Headers may have gone out already; the connection is closed either way.
            }
        } finally {
            metrics.answered(handler, status);
        }
    }

    private static String handlerOf(String[] seg) {
        if (seg.length == 0 || seg[0].equals("status.js") || seg[0].equals("status.css")) {
            return "page";
        }
        if (seg[0].equals("metrics")) {
            return "metrics";
        }
        if (seg[0].equals("api")) {
            return "status";
        }
        if (seg[0].equals("v2") && seg.length >= 2 && seg[1].equals("health")) {
            return "health";
        }
        if (seg[0].equals("v2") && seg[seg.length - 1].equals("infer")) {
            return "infer";
        }
        return seg[0].equals("v2") ? "metadata" : "other";
    }

    /** Non-empty path segments; a path with a dot segment, an encoded slash or a backslash has none that match. */
    private static String[] segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.split("/")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out.toArray(String[]::new);
    }

    private int route(HttpExchange ex, String[] seg) throws IOException, Refusal {
        // The page's own files are public: they hold no data, and a browser must load them to ask for the token.
        if (seg.length == 0 || (seg.length == 1 && page.serves(seg[0]))) {
            requireMethod(ex, "GET");
            StatusPage.Asset asset = page.asset(seg.length == 0 ? "" : seg[0]);
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            return send(ex, 200, asset.contentType(), asset.bytes());
        }
        authorize(ex);
        if (seg.length == 1 && seg[0].equals("metrics")) {
            requireMethod(ex, "GET");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            metrics.write(out);
            return send(ex, 200, metrics.contentType(), out.toByteArray());
        }
        if (seg.length == 2 && seg[0].equals("api") && seg[1].equals("status")) {
            requireMethod(ex, "GET");
            return json(ex, 200, page.status(device, RECENT_SHOWN));
        }
        if (seg.length == 0 || !seg[0].equals("v2")) {
            throw new Refusal(404, "not found: this server answers /, /metrics, /api/status and /v2/...");
        }
        return v2(ex, seg);
    }

    private int v2(HttpExchange ex, String[] seg) throws IOException, Refusal {
        if (seg.length == 1) {
            requireMethod(ex, "GET");
            ObjectNode meta = Oip.JSON.createObjectNode().put("name", "plateau")
                    .put("version", Optional.ofNullable(Routes.class.getPackage().getImplementationVersion())
                            .orElse("dev"));
            meta.putArray("extensions");
            return json(ex, 200, meta);
        }
        if (seg.length == 3 && seg[1].equals("health") && (seg[2].equals("live") || seg[2].equals("ready"))) {
            requireMethod(ex, "GET");
            if (seg[2].equals("live")) {
                return json(ex, 200, Oip.JSON.createObjectNode().put("live", true));
            }
            boolean ready = device.ready();
            return json(ex, ready ? 200 : 503, Oip.JSON.createObjectNode().put("ready", ready));
        }
        if (seg.length < 3 || !seg[1].equals("models")) {
            throw new Refusal(404, "not found: expected /v2/health/live, /v2/health/ready or /v2/models/{name}[...]");
        }
        DeviceView.ModelView model = model(seg[2]);
        int rest = 3;
        if (seg.length >= 5 && seg[3].equals("versions")) {
            if (!seg[4].equals(Integer.toString(model.version()))) {
                throw new Refusal(404, "model " + model.name() + ": that version is not served, the active version is "
                        + model.version());
            }
            rest = 5;
        }
        if (seg.length == rest) {
            requireMethod(ex, "GET");
            return json(ex, 200, Oip.metadata(model.name(), model.version(), model.manifest()));
        }
        if (seg.length == rest + 1 && seg[rest].equals("ready")) {
            requireMethod(ex, "GET");
            boolean ready = device.ready();
            return json(ex, ready ? 200 : 503, Oip.JSON.createObjectNode().put("name", model.name())
                    .put("ready", ready));
        }
        if (seg.length == rest + 1 && seg[rest].equals("infer")) {
            requireMethod(ex, "POST");
            return infer(ex, model);
        }
        throw new Refusal(404, "not found: expected /v2/models/" + model.name() + "[/versions/" + model.version()
                + "][/ready|/infer]");
    }

    private DeviceView.ModelView model(String name) throws Refusal {
        List<DeviceView.ModelView> models = device.models();
        for (DeviceView.ModelView m : models) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new Refusal(404, "unknown model, expected one of " + models.stream().map(DeviceView.ModelView::name)
                .toList());
    }

    private int infer(HttpExchange ex, DeviceView.ModelView model) throws IOException, Refusal {
        String type = mediaType(ex);
        String raw = RAW_TYPES.get(type);
        if (!type.equals(JSON) && raw == null) {
            throw new Refusal(415, "Content-Type: expected " + JSON + " (Open Inference Protocol) or a raw input, one "
                    + "of " + RAW_TYPES.keySet().stream().sorted().toList() + ", found " + shown(type));
        }
        Manifest m = model.manifest();
        boolean csvModel = m.input().decode() == Manifest.Decode.CSV_WINDOW;
        if (raw != null && raw.equals("csv") != csvModel) {
            throw new Refusal(415, "Content-Type: model " + model.name() + " takes " + (csvModel ? "text/csv"
                    : "image/png or image/jpeg") + " (decode " + m.input().decode().name().toLowerCase(Locale.ROOT)
                    .replace('_', '-') + "), found " + shown(type));
        }
        if (!device.ready()) {
            throw new Refusal(503, "not ready: models are loading or the device is stopping");
        }
        if (!inferring.tryAcquire()) {
            throw new Refusal(503, "overloaded: " + maxConcurrent + " inferences in flight (http.max_concurrent)");
        }
        try {
            byte[] body = body(ex);
            List<DeviceView.Served> served = new ArrayList<>();
            String id = null;
            if (raw != null) {
                served.add(device.infer(model.name(), new DeviceView.Input.Encoded(raw, body)));
            } else {
                Oip.Request request;
                try {
                    request = Oip.request(body, m);
                } catch (Oip.BadRequest e) {
                    throw new Refusal(400, e.getMessage());
                }
                id = request.id();
                for (float[] sample : request.samples()) {
                    served.add(device.infer(model.name(), new DeviceView.Input.Tensor(sample)));
                }
            }
            int version = served.get(served.size() - 1).version();
            List<Prediction> predictions = served.stream().map(DeviceView.Served::prediction).toList();
            return json(ex, 200, Oip.response(model.name(), version, id, m, predictions));
        } catch (InputRejectedException e) {
            int status = e.reason() == InputRejectedException.Reason.TOO_LARGE ? 413 : 400;
            throw new Refusal(status, e.reason().label() + ": " + e.getMessage());
        } catch (InferenceException e) {
            throw new Refusal(500, "inference failed: " + e.getMessage());
        } finally {
            inferring.release();
        }
    }

    /** The body, refused with 413 when its declared or actual length is over the limit. */
    private byte[] body(HttpExchange ex) throws IOException, Refusal {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw new Refusal(400, "Content-Length: not a number");
            }
            if (length > maxBytes) {
                throw new Refusal(413, "body of " + length + " bytes, at most " + maxBytes + " (http.max_request_bytes)");
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (data.length > maxBytes) {
                throw new Refusal(413, "body over " + maxBytes + " bytes (http.max_request_bytes)");
            }
            return data;
        }
    }

    /** A media type as a refusal may repeat it: only when it looks like one. */
    private static String shown(String type) {
        return type.isEmpty() ? "none" : type.length() <= 64 && type.matches("[a-z0-9.+-]+/[a-z0-9.+-]+") ? type
                : "another type";
    }

    /** The Content-Type without parameters, lower case; empty when absent. */
    private static String mediaType(HttpExchange ex) {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null) {
            return "";
        }
        int semi = type.indexOf(';');
        return (semi < 0 ? type : type.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    private void authorize(HttpExchange ex) throws Refusal {
        if (token.isEmpty()) {
            return;
        }
        String header = ex.getRequestHeaders().getFirst("Authorization");
        String prefix = "Bearer ";
        byte[] given = header != null && header.regionMatches(true, 0, prefix, 0, prefix.length())
                ? header.substring(prefix.length()).strip().getBytes(StandardCharsets.UTF_8) : new byte[0];
        // A comparison whose time does not depend on where the bytes differ.
        if (!MessageDigest.isEqual(given, token.get())) {
            throw new Refusal(401, header == null ? "unauthorized: this server requires a bearer token "
                    + "(Authorization: Bearer ...)" : "unauthorized: wrong bearer token");
        }
    }

    private static void requireMethod(HttpExchange ex, String method) throws Refusal {
        String m = ex.getRequestMethod();
        if (method.equals("GET") && m.equals("HEAD")) {
            return;
        }
        if (!m.equals(method)) {
            ex.getResponseHeaders().set("Allow", method.equals("GET") ? "GET, HEAD" : method);
            throw new Refusal(405, "method not allowed here, expected " + method);
        }
    }

    private static int json(HttpExchange ex, int status, JsonNode body) throws IOException {
        return send(ex, status, JSON, body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static int send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        return status;
    }
}
