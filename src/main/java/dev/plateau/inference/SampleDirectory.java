package dev.plateau.inference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
     * Lists {@code dir}. Hidden files are ignored. Links are not followed: a label directory or a
     * sample that is a symbolic link (or a FIFO, a device...) is refused, so tuning data never
     * reaches out of {@code dir}. {@code dir} itself may be a link.
     *
     * @throws IllegalArgumentException naming a directory that is not a label, a stray file or a link
     */
    public static SampleDirectory scan(Path dir, List<String> labels) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(InputNames.path(dir) + ": not a directory (expected DIR/<label>/<file>)");
        }
        List<Sample> samples = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                if (Files.isSymbolicLink(entry)) {
                    throw new IllegalArgumentException(InputNames.path(entry) + ": a symbolic link; expected only label "
                            + "directories " + labels + " (links are not followed)");
                }
                if (!Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IllegalArgumentException(InputNames.path(entry) + ": a file at the top level; expected "
                            + "only label directories " + labels);
                }
                int label = labels.indexOf(name);
                if (label < 0) {
                    throw new IllegalArgumentException(InputNames.path(entry) + ": unknown label '" + InputNames.escape(name) + "', expected one of "
                            + labels);
                }
                try (Stream<Path> files = Files.list(entry)) {
                    for (Path f : files.sorted().toList()) {
                        if (f.getFileName().toString().startsWith(".")) {
                            continue;
                        }
                        Optional<String> refused = InputFiles.notRegular(f);
                        if (refused.isPresent()) {
                            throw new IllegalArgumentException(InputNames.path(f) + ": " + refused.get());
                        }
                        samples.add(new Sample(f, label));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + InputNames.path(dir), e);
        }
        return new SampleDirectory(dir, labels, samples);
    }

    /** Every regular file under {@code dir}, labelled or not, for replay; links are neither followed nor listed. */
    public static List<Path> allFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                    .filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + InputNames.path(dir), e);
        }
    }
}
