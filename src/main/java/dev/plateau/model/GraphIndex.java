package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Lookups over one ONNX graph: who produces and who reads each tensor, initializers, declared types. */
final class GraphIndex {
    final OnnxMl.GraphProto graph;
    private final Map<String, Integer> producers = new HashMap<>();
    private final Map<String, List<Integer>> consumers = new HashMap<>();
    private final Map<String, Integer> initializers = new HashMap<>();
    private final Map<String, OnnxMl.ValueInfoProto> declared = new HashMap<>();
    private final Set<String> inputs = new LinkedHashSet<>();
    private final Set<String> outputs = new LinkedHashSet<>();

    GraphIndex(OnnxMl.GraphProto graph) {
        this.graph = graph;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto node = graph.getNode(i);
            for (String out : node.getOutputList()) {
                if (!out.isEmpty()) {
                    producers.put(out, i);
                }
            }
            Set<String> read = new LinkedHashSet<>();
            for (String in : node.getInputList()) {
                if (!in.isEmpty()) {
                    read.add(in);
                }
            }
            // A subgraph (If, Loop, Scan) may read any outer tensor by name; it counts as a read by its node.
            for (OnnxMl.AttributeProto a : node.getAttributeList()) {
                if (a.hasG()) {
                    subgraphReads(a.getG(), read);
                }
                a.getGraphsList().forEach(g -> subgraphReads(g, read));
            }
            for (String in : read) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            initializers.put(graph.getInitializer(i).getName(), i);
        }
        graph.getValueInfoList().forEach(v -> declared.put(v.getName(), v));
        graph.getInputList().forEach(v -> {
            declared.put(v.getName(), v);
            inputs.add(v.getName());
        });
        graph.getOutputList().forEach(v -> {
            declared.put(v.getName(), v);
            outputs.add(v.getName());
        });
    }

    private static void subgraphReads(OnnxMl.GraphProto g, Set<String> into) {
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            n.getInputList().stream().filter(s -> !s.isEmpty()).forEach(into::add);
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    subgraphReads(a.getG(), into);
                }
                a.getGraphsList().forEach(sub -> subgraphReads(sub, into));
            }
        }
    }

    OnnxMl.NodeProto node(int index) {
        return graph.getNode(index);
    }

    /** The index of the node producing {@code tensor}, or -1. */
    int producer(String tensor) {
        return producers.getOrDefault(tensor, -1);
    }

    /** Indexes of the distinct nodes reading {@code tensor}, in graph order. */
    List<Integer> consumers(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    /** The index of the initializer named {@code tensor}, or -1. */
    int initializer(String tensor) {
        return initializers.getOrDefault(tensor, -1);
    }

    boolean isOutput(String tensor) {
        return outputs.contains(tensor);
    }

    Set<String> outputs() {
        return outputs;
    }

    /** True when {@code tensor} is a graph input, an initializer or a node's output. */
    boolean exists(String tensor) {
        return producers.containsKey(tensor) || inputs.contains(tensor) || initializers.containsKey(tensor);
    }

    /** The declared type of {@code tensor} (value_info, graph input or output), if any. */
    Optional<OnnxMl.ValueInfoProto> declared(String tensor) {
        return Optional.ofNullable(declared.get(tensor));
    }

    /**
     * Tensors someone may have meant instead of {@code wanted}: names containing it or contained
     * in it, then the first inputs of dense nodes, then graph inputs; at most {@code limit}.
     */
    List<String> candidates(String wanted, int limit) {
        Set<String> found = new LinkedHashSet<>();
        String lower = wanted.toLowerCase(Locale.ROOT);
        for (String t : producers.keySet().stream().sorted().toList()) {
            String name = t.toLowerCase(Locale.ROOT);
            if (name.contains(lower) || name.length() >= 3 && lower.contains(name)) {
                found.add(t);
            }
        }
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            if ((n.getOpType().equals("Gemm") || n.getOpType().equals("MatMul")) && n.getInputCount() > 0
                    && initializer(n.getInput(0)) < 0) {
                found.add(n.getInput(0));
            }
        }
        inputs.stream().filter(t -> initializer(t) < 0).forEach(found::add);
        return found.stream().limit(limit).toList();
    }

    /** True when {@code name} is already a tensor, initializer or node name. */
    boolean nameTaken(String name) {
        if (exists(name) || declared.containsKey(name) || consumers.containsKey(name)) {
            return true;
        }
        return graph.getNodeList().stream().anyMatch(n -> n.getName().equals(name));
    }

    /** {@code base}, or {@code base_2}, {@code base_3}, ... whichever is not yet used in the graph. */
    String freshName(String base, Set<String> alsoTaken) {
        String name = base;
        for (int k = 2; nameTaken(name) || alsoTaken.contains(name); k++) {
            name = base + "_" + k;
        }
        return name;
    }

    /** How messages name a node: {@code node 'fc1' (Gemm)}, or by its output when unnamed. */
    String describe(int index) {
        OnnxMl.NodeProto n = graph.getNode(index);
        String id = !n.getName().isEmpty() ? "'" + n.getName() + "'"
                : n.getOutputCount() > 0 ? "#" + index + " producing '" + n.getOutput(0) + "'" : "#" + index;
        String domain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx") ? "" : n.getDomain() + ":";
        return "node " + id + " (" + domain + n.getOpType() + ")";
    }

    /** A node's name as head layers carry it: its own, or its first output's when unnamed. */
    String layerName(int index) {
        OnnxMl.NodeProto n = graph.getNode(index);
        return !n.getName().isEmpty() ? n.getName() : n.getOutputCount() > 0 ? n.getOutput(0) : "#" + index;
    }
}
