package dev.plateau.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.store.DurableFiles;
import dev.plateau.store.SigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The operator's side of labelling (README "Drift monitoring"): {@link #pull} asks a device for
 * kept samples with the {@code samples} command and receives their archive through a
 * {@link ChunkReceiver} (the device's {@link ChunkSender} answering), bounded and hash-checked,
 * into {@code DIR/unlabelled/} with the index {@code DIR/samples.jsonl}; a pull cut short goes on
 * from the chunks in {@code DIR/.transfer/} when run again. {@link #label} sends the labels the
 * operator gave by sorting files into {@code DIR/<label>/}, in {@code label} commands of at most
 * {@link #LABEL_BATCH} ids.
 */
public final class SampleExchange {
    public static final String UNLABELLED = "unlabelled";
    public static final String INDEX = "samples.jsonl";
    /** Where an unfinished pull keeps its offer and its chunks. */
    public static final String PARTIAL = ".transfer";
    /** Ids per {@code label} command: 1,000 ids of 20 characters keep a request near 24 KiB, under the 64 KiB limit. */
    public static final int LABEL_BATCH = 1000;
    /** As the device's sender: asking faster only makes it leave chunks out. */
    static final ChunkReceiver.Limits LIMITS = new ChunkReceiver.Limits(256 * 1024, 8, Duration.ofSeconds(3));
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern SAMPLE_ID = Pattern.compile("[0-9]{13}-[0-9]{6}");

    private SampleExchange() {}

    /** A device's refusal or failure of a command, with its reason. */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String state;

        Refused(String command, JsonNode reply) {
            super(command + " " + reply.path("state").asText() + ": " + reply.path("reason").asText());
            this.state = reply.path("state").asText();
        }

        /** {@code rejected} (before it ran) or {@code failed} (while it ran). */
        public String state() {
            return state;
        }
    }

    /**
     * What a pull brought.
     *
     * @param samples   samples written under {@code unlabelled/} (or already sorted, and skipped)
     * @param resumed   whether it went on from chunks an earlier run left
     */
    public record Pulled(int samples, int skipped, long bytes, int chunks, String transfer, boolean resumed) {}

    /** What a label run sent: ids per label, in how many commands. */
    public record Labelled(Map<String, Integer> perLabel, int commands) {}

    // ---- pull ------------------------------------------------------------------------------------

    /**
     * Pulls the samples {@code selection} names ({@code drifted}, {@code unlabelled}, {@code limit})
     * of {@code model} from {@code node} into {@code out}.
     *
     * @param timeout for each command's final reply, and for the whole transfer
     * @throws Refused when the device rejects or fails the command
     * @throws FleetException when the transfer fails or does not end within {@code timeout}
     */
    public static Pulled pull(FleetClient client, String node, String model, ObjectNode selection, Path out,
                              Optional<SigningKey> key, Duration timeout, Consumer<String> progress) {
        Path partial = out.resolve(PARTIAL);
        Optional<ChunkReceiver.Saved> saved = ChunkReceiver.saved(partial).filter(s ->
                node.equals(s.context().path("node").asText()) && model.equals(s.context().path("model").asText()));
        JsonNode result = null;
        if (saved.isPresent()) {
            ObjectNode args = Json.MAPPER.createObjectNode().put("model", model).put("resume", saved.get().offer().id());
            JsonNode reply = client.send(node, "samples", args, key, timeout, r -> { });
            if (reply.path("state").asText().equals("succeeded")) {
                result = reply.path("result");
                progress.accept("resuming transfer " + saved.get().offer().id());
            } else {
                progress.accept("cannot resume transfer " + saved.get().offer().id() + " (" + reply.path("reason")
                        .asText() + "); asking again");
                saved = Optional.empty();
            }
        }
        if (result == null) {
            ObjectNode args = selection.deepCopy().put("model", model);
            JsonNode reply = client.send(node, "samples", args, key, timeout, r -> { });
            if (!reply.path("state").asText().equals("succeeded")) {
                throw new Refused("samples", reply);
            }
            result = reply.path("result");
        }
        if (result.path("samples").asInt() == 0) {
            deleteTree(partial);
            writeIndex(out, List.of());
            return new Pulled(0, 0, 0, 0, "-", false);
        }
        TransferOffer offer;
        try {
            offer = TransferOffer.parse(result.get("transfer"));
        } catch (IllegalArgumentException e) {
            throw new FleetException("the device's offer is malformed: " + e.getMessage(), e);
        }
        boolean resumed = saved.isPresent() && saved.get().offer().equals(offer);
        if (!resumed) {
            deleteTree(partial);
        }
        Path data = receive(client, node, model, offer, partial, timeout, progress);
        int[] counts = unpack(data, out);
        deleteTree(partial);
        return new Pulled(counts[0], counts[1], offer.size(), offer.count(), offer.id(), resumed);
    }

    private static Path receive(FleetClient client, String node, String model, TransferOffer offer, Path partial,
                                Duration timeout, Consumer<String> progress) {
        Topics.Transfer topics = new Topics(client.group(), node).fromNode(offer.id());
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plateau-pull");
            t.setDaemon(true);
            return t;
        });
        CompletableFuture<Path> done = new CompletableFuture<>();
        ChunkReceiver.Listener listener = new ChunkReceiver.Listener() {
            private int reported = -1;

            @Override
            public void progress(int have, int of) {
                int quarter = have * 4 / of;
                if (quarter != reported) {
                    reported = quarter;
                    progress.accept("transfer " + offer.id() + ": " + have + "/" + of + " chunks");
                }
            }

            @Override
            public void complete(Path file) {
                done.complete(file);
            }

            @Override
            public void failed(String reason) {
                done.completeExceptionally(new FleetException("transfer " + offer.id() + " failed: " + reason));
            }
        };
        AtomicReference<ChunkReceiver> receiver = new AtomicReference<>();
        String prefix = topics.base() + "/chunk/";
        client.receive(topics.chunks(), (topic, payload) -> {
            ChunkReceiver r = receiver.get();
            if (r != null && topic.startsWith(prefix)) {
                try {
                    r.accept(Integer.parseInt(topic.substring(prefix.length())), payload);
                } catch (NumberFormatException e) {
                    // Not a chunk number: nothing of ours.
                }
            }
        });
        ChunkReceiver.Requester asks = payload -> client.publish(topics.need(), payload);
        try {
            Files.createDirectories(partial);
            ObjectNode context = Json.MAPPER.createObjectNode().put("node", node).put("model", model);
            // start() over an earlier run's chunks counts those already whole (a resume), with a new deadline.
            receiver.set(ChunkReceiver.start(offer, context, partial, Clock.systemUTC().instant().plus(timeout), LIMITS,
                    Clock.systemUTC(), executor, asks, listener));
            return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write under " + partial, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof FleetException f ? f : new FleetException(e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            ChunkReceiver r = receiver.get();
            throw new FleetException("transfer " + offer.id() + ": " + (r == null ? 0 : r.have()) + " of "
                    + offer.count() + " chunks in " + timeout.toSeconds() + " s; run again to resume");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FleetException("interrupted while receiving " + offer.id(), e);
        } finally {
            ChunkReceiver r = receiver.get();
            if (r != null) {
                r.close();
            }
            executor.shutdown();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Writes the archive's inputs under {@code out/unlabelled/} (a file already sorted into a
     * label directory is left there) and merges its index into {@code out/samples.jsonl}.
     *
     * @return {written, skipped}
     */
    private static int[] unpack(Path archive, Path out) {
        Map<String, Path> sorted = sortedFiles(out);
        Path unlabelled = out.resolve(UNLABELLED);
        List<JsonNode> index = new ArrayList<>();
        int written = 0;
        int skipped = 0;
        try (InputStream raw = Files.newInputStream(archive); ZipInputStream zip = new ZipInputStream(raw)) {
            Files.createDirectories(unlabelled);
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                String name = e.getName();
                if (!NAME.matcher(name).matches()) {
                    throw new FleetException("the device's archive holds an unsafe name '" + escape(name)
                            + "': expected [A-Za-z0-9._-], no directories");
                }
                byte[] bytes = zip.readAllBytes();
                if (name.equals(INDEX)) {
                    for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                        if (!line.isBlank()) {
                            index.add(Json.MAPPER.readTree(line));
                        }
                    }
                } else if (bytes.length == 0 || sorted.containsKey(name)) {
                    skipped++;
                } else {
                    DurableFiles.replace(unlabelled.resolve(name), bytes);
                    written++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the samples into " + out, e);
        }
        writeIndex(out, index);
        return new int[] {written, skipped};
    }

    /** Adds {@code lines} to {@code out/samples.jsonl}, one line per sample id, the newest line winning. */
    private static void writeIndex(Path out, List<JsonNode> lines) {
        Map<String, JsonNode> byId = new TreeMap<>(readIndex(out));
        for (JsonNode line : lines) {
            byId.put(line.path("id").asText(), line);
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode line : byId.values()) {
            text.append(line).append('\n');
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        DurableFiles.replace(out.resolve(INDEX), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The index of {@code dir} by sample id; empty when there is none. */
    private static Map<String, JsonNode> readIndex(Path dir) {
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        Path file = dir.resolve(INDEX);
        if (!Files.isRegularFile(file)) {
            return byId;
        }
        try {
            int n = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = Json.MAPPER.readTree(line);
                if (!node.path("id").isTextual() || !node.path("file").isTextual()) {
                    throw new IllegalArgumentException(file + ": line " + n + ": expected {id, file, ...}");
                }
                byId.put(node.get("id").asText(), node);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": unreadable: " + e.getMessage(), e);
        }
        return byId;
    }

    /** The files of {@code out}'s label directories, by name. */
    private static Map<String, Path> sortedFiles(Path out) {
        Map<String, Path> files = new TreeMap<>();
        for (Path dir : labelDirs(out)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(Files::isRegularFile).sorted().forEach(f -> files.putIfAbsent(f.getFileName().toString(), f));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir, e);
            }
        }
        return files;
    }

    /** The sub-directories of {@code dir} that are labels: all but {@code unlabelled} and hidden ones. */
    private static List<Path> labelDirs(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(d -> {
                String n = d.getFileName().toString();
                return !n.equals(UNLABELLED) && !n.startsWith(".");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    // ---- label -----------------------------------------------------------------------------------

    /**
     * Sends the labels of {@code from}: every file in {@code from/<label>/} is the sample
     * {@code samples.jsonl} names for its file name (or whose id its name is). Everything is
     * checked before the first command: a file that is no sample, or a sample sorted under two
     * labels, is refused naming it.
     *
     * @throws IllegalArgumentException naming what in {@code from} is not a labelled sample
     * @throws Refused when the device rejects or fails a {@code label} command (the ones before it stand)
     */
    public static Labelled label(FleetClient client, String node, String model, Path from, Optional<SigningKey> key,
                                 Duration timeout, Consumer<String> progress) {
        Map<String, String> idByFile = new LinkedHashMap<>();
        readIndex(from).values().forEach(n -> idByFile.put(n.get("file").asText(), n.get("id").asText()));
        Map<String, List<String>> ids = new TreeMap<>();
        Map<String, String> labelOf = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (Path dir : labelDirs(from)) {
            String label = dir.getFileName().toString();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                    String name = f.getFileName().toString();
                    String stem = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
                    String id = idByFile.getOrDefault(name, SAMPLE_ID.matcher(stem).matches() ? stem : null);
                    if (id == null) {
                        problems.add(label + "/" + escape(name) + ": not in " + INDEX + " and its name is not a "
                                + "sample id");
                        continue;
                    }
                    String before = labelOf.putIfAbsent(id, label);
                    if (before != null && !before.equals(label)) {
                        problems.add("sample " + id + ": sorted under both " + before + " and " + label);
                        continue;
                    }
                    ids.computeIfAbsent(label, l -> new ArrayList<>()).add(id);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir, e);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(problems.size() + " file(s) in " + from + " are not labelled samples: "
                    + String.join("; ", problems.subList(0, Math.min(10, problems.size())))
                    + (problems.size() > 10 ? "; ..." : ""));
        }
        Map<String, Integer> sent = new TreeMap<>();
        int commands = 0;
        for (Map.Entry<String, List<String>> e : ids.entrySet()) {
            List<String> all = e.getValue();
            for (int i = 0; i < all.size(); i += LABEL_BATCH) {
                ObjectNode args = Json.MAPPER.createObjectNode().put("model", model).put("label", e.getKey());
                ArrayNode list = args.putArray("ids");
                all.subList(i, Math.min(all.size(), i + LABEL_BATCH)).forEach(list::add);
                JsonNode reply = client.send(node, "label", args, key, timeout, r -> { });
                commands++;
                if (!reply.path("state").asText().equals("succeeded")) {
                    throw new Refused("label " + e.getKey(), reply);
                }
                sent.merge(e.getKey(), list.size(), Integer::sum);
            }
            progress.accept("labelled " + sent.get(e.getKey()) + " sample(s) " + e.getKey());
        }
        return new Labelled(sent, commands);
    }

    private static void deleteTree(Path dir) {
        try {
            DurableFiles.deleteTree(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }

    private static String escape(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
