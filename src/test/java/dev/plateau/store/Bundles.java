package dev.plateau.store;

import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;

/** Tiny real bundles of model "tiny-gray" with a chosen manifest version. */
final class Bundles {
    static final String MODEL = "tiny-gray";

    private Bundles() {}

    static Path bundle(Path dir, int version) throws IOException {
        TinyModels.Spec spec = TinyModels.gray4x4();
        return TinyModels.bundle(dir, spec, TinyModels.manifest(spec).replace("version: 1\n", "version: " + version + "\n"));
    }

    /** Writes {@code version} into the store as a copy of a fresh bundle. */
    static Path write(ModelStore store, int version) {
        return store.write(MODEL, version, dir -> bundle(dir, version));
    }
}
