package dev.plateau.daemon;

import dev.plateau.http.DeviceView;
import dev.plateau.inference.InferenceException;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.store.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The local HTTP API's inputs, handed to each model's {@link Pipeline} as the source
 * {@value #SOURCE}. A raw body is written to a file under {@code <state>/http/} first and goes
 * the way a file in an inbox goes (the same size limits, decoding, sample store), then the file
 * is removed; a tensor goes straight to the model.
 */
final class HttpInputs {
    static final String SOURCE = "http";
    static final String DIR = "http";

    private final Map<String, Pipeline> pipelines;
    private final Path dir;
    private final AtomicLong seq = new AtomicLong();

    /** @param pipelines by store model name */
    HttpInputs(Map<String, Pipeline> pipelines, Path stateDir) {
        this.pipelines = Map.copyOf(pipelines);
        this.dir = stateDir.resolve(DIR);
        try {
            // Files of requests a crash interrupted are nobody's input any more.
            DurableFiles.deleteTree(dir);
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + " for the HTTP API's inputs", e);
        }
    }

    DeviceView.Served infer(String model, DeviceView.Input input) throws InputRejectedException {
        Pipeline pipeline = pipelines.get(model);
        if (pipeline == null) {
            throw new IllegalArgumentException("unknown model " + model + ", expected one of " + pipelines.keySet());
        }
        long n = seq.incrementAndGet();
        Pipeline.Handled handled;
        if (input instanceof DeviceView.Input.Tensor t) {
            handled = pipeline.tensor(SOURCE, "tensor-" + n, t.values());
        } else {
            DeviceView.Input.Encoded e = (DeviceView.Input.Encoded) input;
            Path file = dir.resolve("request-" + n + "." + e.extension());
            try {
                Files.write(file, e.bytes(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                handled = pipeline.run(SOURCE, file);
            } catch (IOException io) {
                throw new UncheckedIOException("cannot write the request's input to " + file, io);
            } finally {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException io) {
                    // The next start clears the directory.
                }
            }
        }
        if (handled.rejection().isPresent()) {
            InputRejectedException e = handled.rejection().get();
            // The client reads the refusal: it names the request's file, never where the device keeps it.
            String message = e.getMessage().replace(dir.toString() + dir.getFileSystem().getSeparator(), "");
            throw new InputRejectedException(e.reason(), message, e);
        }
        ModelSlot.Served served = handled.served().orElseThrow(() -> new InferenceException(
                "model " + model + ": " + handled.result().reason(), null));
        return new DeviceView.Served(served.version(), served.prediction());
    }
}
