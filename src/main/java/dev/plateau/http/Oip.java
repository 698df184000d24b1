package dev.plateau.http;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.inference.Prediction;
import dev.plateau.model.Manifest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The Open Inference Protocol's (KServe v2) JSON: model metadata, inference requests with one
 * FP32 input tensor in the model's shape (flat or nested {@code data}, a batch of one or more
 * samples), and responses with three outputs: the model's own output tensor (logits),
 * {@code scores} (the class probabilities, as {@code plateau infer} prints them) and
 * {@code label} (BYTES).
 */
final class Oip {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String FP32 = "FP32";
    static final String SCORES = "scores";
    static final String LABEL = "label";
    /** A batch of more samples than this is not a request for a device's local API. */
    static final int MAX_BATCH = 1024;
    /** The protocol's tensor datatypes, named in a refusal; anything else is not repeated. */
    private static final java.util.Set<String> DATATYPES = java.util.Set.of("BOOL", "UINT8", "UINT16", "UINT32",
            "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES");

    private Oip() {}

    /** A request the protocol's rules refuse; the message is the reason a client reads. */
    static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    /** The parsed request: its id (or none) and one tensor per sample. */
    record Request(String id, List<float[]> samples) {}

    static ObjectNode metadata(String name, int version, Manifest m) {
        ObjectNode out = JSON.createObjectNode();
        out.put("name", name);
        out.putArray("versions").add(Integer.toString(version));
        out.put("platform", "onnxruntime_onnx");
        ObjectNode in = out.putArray("inputs").addObject();
        in.put("name", m.input().tensor());
        in.put("datatype", FP32);
        ArrayNode shape = in.putArray("shape").add(-1);
        m.input().shape().forEach(shape::add);
        ObjectNode logits = out.putArray("outputs").addObject();
        logits.put("name", m.output().tensor());
        logits.put("datatype", FP32);
        logits.putArray("shape").add(-1).add(m.classCount());
        ObjectNode scores = ((ArrayNode) out.get("outputs")).addObject();
        scores.put("name", SCORES);
        scores.put("datatype", FP32);
        scores.putArray("shape").add(-1).add(m.classCount());
        ObjectNode label = ((ArrayNode) out.get("outputs")).addObject();
        label.put("name", LABEL);
        label.put("datatype", "BYTES");
        label.putArray("shape").add(-1);
        ObjectNode params = out.putObject("parameters");
        ArrayNode labels = params.putArray("labels");
        m.output().labels().forEach(labels::add);
        params.put("decode", m.input().decode().name().toLowerCase().replace('_', '-'));
        return out;
    }

    /** Reads an inference request for a model whose input is {@code m.input()}. */
    static Request request(byte[] body, Manifest m) throws BadRequest {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new BadRequest("body: not JSON" + (at == null ? "" : " (line " + at.getLineNr() + ", column "
                    + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw new BadRequest("body: not JSON");
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest("body: expected a JSON object with \"inputs\"");
        }
        String id = root.path("id").isTextual() ? root.get("id").asText() : null;
        JsonNode inputs = root.path("inputs");
        if (!inputs.isArray() || inputs.size() != 1) {
            throw new BadRequest("inputs: expected a list of exactly one tensor (the model takes '"
                    + m.input().tensor() + "'), found " + (inputs.isArray() ? inputs.size() + " tensors" : "none"));
        }
        JsonNode t = inputs.get(0);
        String name = t.path("name").asText("");
        if (!name.equals(m.input().tensor())) {
            throw new BadRequest("inputs[0].name: not an input of this model, expected '" + m.input().tensor() + "'");
        }
        String datatype = t.path("datatype").asText("");
        if (!datatype.equals(FP32)) {
            throw new BadRequest("inputs[0].datatype: expected FP32 (the model's input), found "
                    + (DATATYPES.contains(datatype) ? datatype : "no datatype of the protocol"));
        }
        int per = m.input().sampleSize();
        List<Integer> sample = m.input().shape();
        JsonNode shapeNode = t.path("shape");
        List<Long> shape = new ArrayList<>();
        if (shapeNode.isArray()) {
            for (JsonNode d : shapeNode) {
                if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 1) {
                    throw new BadRequest("inputs[0].shape: expected positive integers");
                }
                shape.add(d.asLong());
            }
        }
        List<Long> expected = sample.stream().map(Integer::longValue).toList();
        long batch;
        if (shape.equals(expected)) {
            batch = 1;
        } else if (shape.size() == expected.size() + 1 && shape.subList(1, shape.size()).equals(expected)) {
            batch = shape.get(0);
        } else {
            throw new BadRequest("inputs[0].shape: expected [N, " + join(sample) + "] (or [" + join(sample)
                    + "] for one sample), found " + (shape.size() <= 8 ? shape.toString() : shape.size() + " dimensions"));
        }
        if (batch > MAX_BATCH) {
            throw new BadRequest("inputs[0].shape: a batch of " + batch + " samples, at most " + MAX_BATCH);
        }
        JsonNode data = t.path("data");
        if (!data.isArray()) {
            throw new BadRequest("inputs[0].data: expected a list of numbers");
        }
        float[] flat = new float[(int) (batch * per)];
        int[] at = {0};
        flatten(data, flat, at);
        if (at[0] != flat.length) {
            throw new BadRequest("inputs[0].data: " + at[0] + " values for shape " + shape + ", expected "
                    + flat.length);
        }
        List<float[]> samples = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            float[] s = new float[per];
            System.arraycopy(flat, i * per, s, 0, per);
            samples.add(s);
        }
        return new Request(id, samples);
    }

    private static void flatten(JsonNode node, float[] out, int[] at) throws BadRequest {
        for (JsonNode v : node) {
            if (v.isArray()) {
                flatten(v, out, at);
            } else if (v.isNumber()) {
                if (at[0] >= out.length) {
                    // Counted on, not stored: the message says how many there were.
                    at[0]++;
                    continue;
                }
                out[at[0]++] = v.floatValue();
            } else {
                throw new BadRequest("inputs[0].data: value " + at[0] + " is " + v.getNodeType().toString().toLowerCase()
                        + ", expected a number");
            }
        }
    }

    /** The response: one entry per sample of the batch in each of the three outputs. */
    static ObjectNode response(String name, int version, String id, Manifest m, List<Prediction> predictions) {
        ObjectNode out = JSON.createObjectNode();
        out.put("model_name", name);
        out.put("model_version", Integer.toString(version));
        if (id != null) {
            out.put("id", id);
        }
        int classes = m.classCount();
        ArrayNode outputs = out.putArray("outputs");
        ObjectNode logits = tensor(outputs, m.output().tensor(), FP32, predictions.size(), classes);
        ObjectNode scores = tensor(outputs, SCORES, FP32, predictions.size(), classes);
        ObjectNode label = outputs.addObject();
        label.put("name", LABEL);
        label.put("datatype", "BYTES");
        label.putArray("shape").add(predictions.size());
        ArrayNode labels = label.putArray("data");
        for (Prediction p : predictions) {
            for (float v : p.logits()) {
                ((ArrayNode) logits.get("data")).add(v);
            }
            for (float v : p.scores()) {
                ((ArrayNode) scores.get("data")).add(v);
            }
            labels.add(p.label());
        }
        return out;
    }

    private static ObjectNode tensor(ArrayNode outputs, String name, String datatype, int batch, int classes) {
        ObjectNode t = outputs.addObject();
        t.put("name", name);
        t.put("datatype", datatype);
        t.putArray("shape").add(batch).add(classes);
        t.putArray("data");
        return t;
    }

    static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static String join(List<Integer> dims) {
        return String.join(", ", dims.stream().map(String::valueOf).toList());
    }
}
