package dev.plateau.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.plateau.inference.Prediction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * Recent inputs with their predictions, on disk under {@code <state>/samples/<model>/}, kept for
 * labelling and fine-tuning later. Each sample is its input file and a {@code .json} beside it,
 * written input first and JSON last through a rename, so a crash leaves either a whole sample or
 * debris that {@link #open} removes. At most {@code maxPerModel} are kept; the oldest plain
 * sample goes first, then the oldest drifted one ({@link #markDrifted}), labelled ones last.
 * A sample that does not fit is refused before it is written ({@link DiskFullException}) and a
 * failed one leaves nothing behind.
 */
public final class SampleStore {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String META = ".json";
    /** Room kept for a sample's JSON beside its input: ~300 bytes plus the scores, well under 4 KiB. */
    private static final long META_BYTES = 4096;

    private final Path root;
    private int maxPerModel;
    private final Clock clock;
    private final Map<String, Deque<String>> idsByModel = new HashMap<>();
    private final java.util.Set<String> labelled = new java.util.HashSet<>();
    /** Samples seen while the model's drift monitor had detected drift: what an operator labels next. */
    private final java.util.Set<String> drifted = new java.util.HashSet<>();
    private long sequence;

    private SampleStore(Path root, int maxPerModel, Clock clock) {
        this.root = root;
        this.maxPerModel = maxPerModel;
        this.clock = clock;
    }

    /** Opens (creating) the store under {@code stateDir/samples}, cleaning up after a crash. */
    public static SampleStore open(Path stateDir, int maxPerModel, Clock clock) {
        SampleStore store = new SampleStore(stateDir.resolve("samples"), maxPerModel, clock);
        try {
            Files.createDirectories(store.root);
            try (Stream<Path> models = Files.list(store.root)) {
                for (Path modelDir : models.filter(Files::isDirectory).sorted().toList()) {
                    store.recover(modelDir);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the sample store in " + store.root, e);
        }
        return store;
    }

    private void recover(Path modelDir) throws IOException {
        Deque<String> ids = new ArrayDeque<>();
        try (Stream<Path> files = Files.list(modelDir)) {
            List<Path> all = files.sorted().toList();
            for (Path file : all) {
                String name = file.getFileName().toString();
                if (name.endsWith(META) && !name.startsWith(".tmp-")) {
                    ids.add(name.substring(0, name.length() - META.length()));
                }
            }
            for (Path file : all) {
                String name = file.getFileName().toString();
                String id = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
                if (name.startsWith(".tmp-") || (!name.endsWith(META) && !ids.contains(id))) {
                    Files.deleteIfExists(file);
                }
            }
        }
        for (String id : ids) {
            com.fasterxml.jackson.databind.JsonNode meta = JSON.readTree(modelDir.resolve(id + META).toFile());
            if (meta.path("label").isTextual()) {
                labelled.add(modelDir.getFileName() + "/" + id);
            }
            if (meta.path("drifted").asBoolean(false)) {
                drifted.add(modelDir.getFileName() + "/" + id);
            }
        }
        idsByModel.put(modelDir.getFileName().toString(), ids);
    }

    /**
     * Makes room: the oldest unlabelled sample that did not drift goes first, then the oldest
     * unlabelled drifted one (what an operator should label next), since a labelled one is what a
     * fine-tune needs; only when every sample is labelled does the oldest labelled one go.
     */
    private void shrink(String model, Deque<String> ids) {
        Path dir = root.resolve(model);
        while (ids.size() > maxPerModel) {
            String victim = ids.stream().filter(id -> !labelled.contains(model + "/" + id)
                            && !drifted.contains(model + "/" + id)).findFirst()
                    .or(() -> ids.stream().filter(id -> !labelled.contains(model + "/" + id)).findFirst())
                    .orElse(ids.peekFirst());
            ids.remove(victim);
            labelled.remove(model + "/" + victim);
            drifted.remove(model + "/" + victim);
            evict(dir, victim);
        }
    }

    /**
     * Keeps a copy of {@code input} with its prediction.
     *
     * @return the sample's id
     */
    public synchronized String add(String model, int version, String source, Path input, Prediction prediction) {
        Instant now = clock.instant();
        // Ids sort by time, so the oldest sample is the first in the directory listing.
        String id = String.format("%013d-%06d", now.toEpochMilli(), sequence++ % 1_000_000);
        Path dir = root.resolve(model);
        String name = input.getFileName().toString();
        String ext = name.contains(".") ? name.substring(name.lastIndexOf('.')) : "";
        Path copy = dir.resolve(id + ext);
        Path tmp = dir.resolve(".tmp-" + id + META);
        String what = "cannot store sample " + id + " of " + model;
        long needed = 0;
        boolean stored = false;
        try {
            needed = Files.size(input) + META_BYTES;
            Files.createDirectories(dir);
            Disk.requireSpace(what, dir, needed);
            Files.copy(input, copy, StandardCopyOption.REPLACE_EXISTING);
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("id", id);
            meta.put("ts", now.toString());
            meta.put("model", model);
            meta.put("version", version);
            meta.put("source", source);
            meta.put("file", id + ext);
            meta.put("original", name);
            meta.put("predicted", prediction.label());
            meta.put("score", prediction.score());
            Map<String, Float> scores = new LinkedHashMap<>();
            for (int i = 0; i < prediction.labels().size(); i++) {
                scores.put(prediction.labels().get(i), prediction.score(i));
            }
            meta.put("scores", scores);
            meta.put("label", null);
            JSON.writeValue(tmp.toFile(), meta);
            Files.move(tmp, dir.resolve(id + META), StandardCopyOption.ATOMIC_MOVE);
            stored = true;
        } catch (IOException e) {
            throw Disk.translate(what, dir, needed, e).<RuntimeException>map(x -> x)
                    .orElseGet(() -> new UncheckedIOException(what + " in " + dir, e));
        } finally {
            if (!stored) {
                // Half a sample is debris: the copy without its JSON, or a partial JSON.
                deleteQuietly(tmp);
                deleteQuietly(copy);
            }
        }
        Deque<String> ids = idsByModel.computeIfAbsent(model, m -> new ArrayDeque<>());
        ids.add(id);
        shrink(model, ids);
        return id;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // open() removes what is left after the next start.
        }
    }

    private void evict(Path dir, String id) {
        try (Stream<Path> files = Files.list(dir)) {
            // The JSON goes first: without it the input file is debris, never a half sample.
            Files.deleteIfExists(dir.resolve(id + META));
            for (Path file : files.filter(f -> f.getFileName().toString().startsWith(id + ".")).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            Logger.warn("sample store: cannot evict {} from {}: {}", id, dir, e.getMessage());
        }
    }

    /** Changes how many samples are kept per model; a smaller limit evicts the oldest at once. */
    public synchronized void resize(int newMaxPerModel) {
        if (newMaxPerModel < 1) {
            throw new IllegalArgumentException("samples.max_per_model out of range (" + newMaxPerModel + ", allowed >= 1)");
        }
        maxPerModel = newMaxPerModel;
        idsByModel.forEach(this::shrink);
    }

    /** Whether {@code model} still keeps sample {@code id}. */
    public synchronized boolean contains(String model, String id) {
        Deque<String> ids = idsByModel.get(model);
        return ids != null && ids.contains(id);
    }

    /**
     * Marks kept samples as drifted (rewriting each JSON through a rename, {@code "drifted": true}),
     * so they are kept over samples that did not drift. Ids no longer kept are skipped: the
     * store may have evicted them since they were seen.
     */
    public synchronized void markDrifted(String model, List<String> ids) {
        Path dir = root.resolve(model);
        for (String id : ids) {
            if (!contains(model, id) || drifted.contains(model + "/" + id)) {
                continue;
            }
            rewrite(dir, id, node -> node.put("drifted", true));
            drifted.add(model + "/" + id);
        }
    }

    /** Whether sample {@code id} of {@code model} is kept and marked drifted. */
    public synchronized boolean drifted(String model, String id) {
        return contains(model, id) && drifted.contains(model + "/" + id);
    }

    private void rewrite(Path dir, String id, java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> change) {
        Path meta = dir.resolve(id + META);
        try {
            com.fasterxml.jackson.databind.node.ObjectNode node =
                    (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(meta.toFile());
            change.accept(node);
            Path tmp = dir.resolve(".tmp-" + id + META);
            JSON.writeValue(tmp.toFile(), node);
            Files.move(tmp, meta, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite sample " + id + " of " + dir.getFileName(), e);
        }
    }

    /**
     * Attaches {@code label} to stored samples (rewriting each JSON through a rename).
     *
     * @throws IllegalArgumentException naming the ids that are not (or no longer) kept; nothing changes then
     */
    public synchronized void label(String model, List<String> ids, String label) {
        if (!label.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("label: expected 1-64 of [A-Za-z0-9._-], found '" + label + "'");
        }
        List<String> missing = ids.stream().filter(id -> !contains(model, id)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("ids: not kept for " + model + ": " + missing);
        }
        Path dir = root.resolve(model);
        for (String id : ids) {
            rewrite(dir, id, node -> node.put("label", label));
            labelled.add(model + "/" + id);
        }
    }

    /**
     * Copies every labelled sample of {@code model} into {@code dir/<label>/}, the layout
     * fine-tuning reads.
     *
     * @return samples copied per label
     */
    public synchronized Map<String, Integer> exportLabelled(String model, Path dir) {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        Path from = root.resolve(model);
        for (String id : idsByModel.getOrDefault(model, new ArrayDeque<>())) {
            try {
                com.fasterxml.jackson.databind.JsonNode meta = JSON.readTree(from.resolve(id + META).toFile());
                String label = meta.path("label").isTextual() ? meta.get("label").asText() : null;
                if (label == null) {
                    continue;
                }
                Path target = Files.createDirectories(dir.resolve(label)).resolve(meta.get("file").asText());
                Files.copy(from.resolve(meta.get("file").asText()), target, StandardCopyOption.REPLACE_EXISTING);
                counts.merge(label, 1, Integer::sum);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot export sample " + id + " of " + model, e);
            }
        }
        return counts;
    }

    /**
     * One kept sample as its JSON describes it.
     *
     * @param file     its input file's name in the store ({@code <id>.<ext>})
     * @param original the input's own file name when it was seen
     * @param label    the operator's label, when one was given
     */
    public record Kept(String id, String file, String original, int version, String source, Instant at,
                       String predicted, double score, boolean drifted, Optional<String> label) {}

    /**
     * The samples of {@code model} kept now, newest first, at most {@code limit}: only those
     * marked drifted when {@code driftedOnly}, only those without a label when {@code unlabelledOnly}.
     */
    public synchronized List<Kept> list(String model, boolean driftedOnly, boolean unlabelledOnly, int limit) {
        List<Kept> out = new java.util.ArrayList<>();
        Path dir = root.resolve(model);
        java.util.Iterator<String> newest = idsByModel.getOrDefault(model, new ArrayDeque<>()).descendingIterator();
        while (newest.hasNext() && out.size() < limit) {
            String id = newest.next();
            if ((driftedOnly && !drifted.contains(model + "/" + id))
                    || (unlabelledOnly && labelled.contains(model + "/" + id))) {
                continue;
            }
            try {
                com.fasterxml.jackson.databind.JsonNode m = JSON.readTree(dir.resolve(id + META).toFile());
                out.add(new Kept(id, m.path("file").asText(), m.path("original").asText(), m.path("version").asInt(),
                        m.path("source").asText(), Instant.parse(m.path("ts").asText()), m.path("predicted").asText(),
                        m.path("score").asDouble(), m.path("drifted").asBoolean(false),
                        m.path("label").isTextual() ? Optional.of(m.get("label").asText()) : Optional.empty()));
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("sample " + id + " of " + model + ": its JSON is unreadable ("
                        + e.getMessage() + ")", e);
            }
        }
        return out;
    }

    /** Where the input of a sample {@link #list} returned is kept. */
    public Path input(String model, Kept sample) {
        return root.resolve(model).resolve(sample.file());
    }

    /** Number of samples kept for {@code model}. */
    public synchronized int size(String model) {
        Deque<String> ids = idsByModel.get(model);
        return ids == null ? 0 : ids.size();
    }

    public Path root() {
        return root;
    }
}
