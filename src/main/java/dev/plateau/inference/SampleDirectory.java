package dev.plateau.inference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A labelled sample directory in the ImageFolder layout, {@code DIR/<label>/<file>}, where every
 * label is one of the model's. Files are listed in a stable order.
 */
public record SampleDirectory(Path dir, List<String> labels, List<Sample> samples) {

    /** One labelled file; {@code label} indexes the model's labels. */
    public record Sample(Path file, int label) {}

    public SampleDirectory {
        samples = List.copyOf(samples);
        labels = List.copyOf(labels);
    }

    /**
     * Lists {@code dir}. Hidden files are ignored.
     *
     * @throws IllegalArgumentException naming a directory that is not a label, or a stray file
     */
    public static SampleDirectory scan(Path dir, List<String> labels) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": not a directory (expected DIR/<label>/<file>)");
        }
        List<Sample> samples = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                if (!Files.isDirectory(entry)) {
                    throw new IllegalArgumentException(entry + ": a file at the top level; expected only label "
                            + "directories " + labels);
                }
                int label = labels.indexOf(name);
                if (label < 0) {
                    throw new IllegalArgumentException(entry + ": unknown label '" + name + "', expected one of " + labels);
                }
                try (Stream<Path> files = Files.list(entry)) {
                    files.filter(f -> !f.getFileName().toString().startsWith(".") && Files.isRegularFile(f))
                            .sorted()
                            .forEach(f -> samples.add(new Sample(f, label)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return new SampleDirectory(dir, labels, samples);
    }

    /** Every file under {@code dir}, labelled or not, for replay. */
    public static List<Path> allFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }
}
