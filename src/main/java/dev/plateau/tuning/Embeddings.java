package dev.plateau.tuning;

import dev.plateau.inference.EmbeddingExtractor;
import dev.plateau.inference.InputRejectedException;
import dev.plateau.inference.SampleDirectory;
import java.util.ArrayList;
import java.util.List;

/** Backbone embeddings of labelled files, computed once; every unusable file is named before training. */
final class Embeddings {
    private Embeddings() {}

    static Samples of(EmbeddingExtractor extractor, List<SampleDirectory.Sample> files, String what) {
        // Row after row into one array: the embeddings are most of a fine-tune's memory.
        int width = extractor.width();
        float[] x = new float[Math.multiplyExact(files.size(), width)];
        int[] y = new int[files.size()];
        List<String> rejected = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            SampleDirectory.Sample s = files.get(i);
            try {
                System.arraycopy(extractor.embed(s.file()), 0, x, i * width, width);
            } catch (InputRejectedException e) {
                rejected.add(e.getMessage());
            }
            y[i] = s.label();
        }
        if (!rejected.isEmpty()) {
            throw new TuningDataException(what + ": " + rejected.size() + " of " + files.size()
                    + " files cannot be used: " + rejected.subList(0, Math.min(10, rejected.size()))
                    + (rejected.size() > 10 ? " ..." : ""));
        }
        return Samples.owning(x, width, y);
    }
}
