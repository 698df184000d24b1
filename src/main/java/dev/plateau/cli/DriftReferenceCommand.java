package dev.plateau.cli;

import dev.plateau.inference.InferenceEngine;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.inference.SampleDirectory;
import dev.plateau.model.ModelBundle;
import dev.plateau.tuning.DriftReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code plateau models drift-reference}: writes a bundle's drift reference
 * ({@code drift-reference.json}) from held-out inputs, so the daemon need not fall back on the
 * anchor set, on which the model is more confident than on inputs it never saw.
 */
@Command(name = "drift-reference", mixinStandardHelpOptions = true,
        description = "Write BUNDLE/drift-reference.json, the drift monitor's reference, from the inputs under DIR "
                + "(held-out inputs the model was not trained on, ImageFolder layout or flat).")
final class DriftReferenceCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE")
    Path bundle;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR")
    Path data;

    @Option(names = "--basis", defaultValue = "validation", paramLabel = "NAME",
            description = "what the inputs are, said in drift events (default: ${DEFAULT-VALUE})")
    String basis;

    @Override
    public Integer call() {
        ModelBundle b = ModelBundle.open(bundle);
        List<Path> files = SampleDirectory.allFiles(data);
        DriftReference.Measured measured;
        try (InferenceEngine engine = InferenceEngine.loadWithEmbedding(b, OrtRuntime.environment(1), 0)) {
            measured = DriftReference.measure(engine, files, basis);
        }
        measured.rejected().forEach(r -> System.err.println("left out: " + r));
        Path out = bundle.resolve(DriftReference.FILE);
        try {
            measured.reference().write(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
        DriftReference r = measured.reference();
        System.out.printf(Locale.ROOT, "{\"file\":\"%s\",\"basis\":\"%s\",\"samples\":%d,\"mean_confidence\":%.4f,"
                        + "\"mean_entropy\":%.4f}%n", out.toString().replace("\\", "\\\\").replace("\"", "\\\""),
                basis.replace("\"", "'"), r.samples(), r.meanConfidence(), r.meanEntropy());
        return 0;
    }
}
