package dev.plateau.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.plateau.testing.TinyModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzing of the manifest loader (jqwik; tries: README, Reliability): {@code manifest.yaml} cut
 * short, with lines dropped, values replaced or bytes changed, opens as a valid manifest or is
 * refused with a {@link BundleException} naming the bundle, never any other exception.
 */
class ManifestFuzzTest {
    private static final TinyModels.Spec SPEC = TinyModels.window3x8();
    private static Path root;
    private static Path bundle;

    @BeforeContainer
    static void bundle() throws IOException {
        root = Files.createTempDirectory("manifest-fuzz");
        bundle = TinyModels.bundle(root.resolve("b"), SPEC);
    }

    @AfterContainer
    static void cleanUp() throws IOException {
        try (var files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Opens {@code manifest}; the manifest, or null when refused as it must be. */
    private static Manifest open(byte[] manifest) throws IOException {
        Files.write(bundle.resolve(ModelBundle.MANIFEST_FILE), manifest);
        try {
            return ModelBundle.open(bundle).manifest();
        } catch (BundleException e) {
            assertTrue(e.getMessage().startsWith("model bundle " + bundle + ": "), e.getMessage());
            return null;
        } catch (RuntimeException | StackOverflowError e) {
            throw new AssertionError("not a BundleException but " + e, e);
        }
    }

    /** What any opened manifest must hold, whatever the text was. */
    private static void valid(Manifest m) {
        if (m == null) {
            return;
        }
        assertTrue(m.classCount() >= 1, "no classes");
        assertTrue(m.input().sampleSize() >= 1, "no input");
        assertEquals(m.classCount(), m.output().labels().size());
    }

    private static String text() {
        return TinyModels.manifest(SPEC);
    }

    @Property
    void open_truncatedAnywhere_validOrRefused(@ForAll @IntRange(min = 0, max = 600) int cut) throws IOException {
        byte[] full = text().getBytes(StandardCharsets.UTF_8);
        valid(open(java.util.Arrays.copyOf(full, Math.min(cut, full.length))));
    }

    @Property
    void open_linesDropped_validOrRefused(@ForAll @Size(min = 1, max = 4) List<@IntRange(min = 0, max = 30) Integer> drop)
            throws IOException {
        List<String> lines = new ArrayList<>(text().lines().toList());
        for (int i : drop) {
            if (i < lines.size()) {
                lines.remove(i);
            }
        }
        valid(open(String.join("\n", lines).getBytes(StandardCharsets.UTF_8)));
    }

    @Property
    void open_valueReplaced_validOrRefused(@ForAll @IntRange(min = 0, max = 30) int line, @ForAll("values") String value)
            throws IOException {
        List<String> lines = new ArrayList<>(text().lines().toList());
        String l = lines.get(line % lines.size());
        int colon = l.indexOf(':');
        if (colon >= 0) {
            lines.set(line % lines.size(), l.substring(0, colon + 1) + " " + value);
        }
        valid(open(String.join("\n", lines).getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<String> values() {
        return Arbitraries.oneOf(
                Arbitraries.of("", "~", "null", "0", "-1", "0.5", "1e309", ".nan", ".inf", "-.inf", "[]", "{}",
                        "[0]", "[-1, 4]", "[1, 2147483648]", "[a, a, a]", "!!binary AAAA", "&a [*a]", "*undefined",
                        "'", "\"", "[", "{", "99999999999999999999", "true", "image-cmyk", "csv-window",
                        "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "{a: 1}", "|\n  text", "0x10", "0o7"),
                Arbitraries.strings().ofMaxLength(40),
                Arbitraries.integers().map(Object::toString),
                Arbitraries.doubles().map(Object::toString));
    }

    @Property
    void open_bytesChanged_validOrRefused(@ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = 600) Integer> at,
            @ForAll byte value) throws IOException {
        byte[] bytes = text().getBytes(StandardCharsets.UTF_8);
        for (int i : at) {
            bytes[i % bytes.length] = value;
        }
        valid(open(bytes));
    }

    @Property
    void open_anyBytes_validOrRefused(@ForAll @Size(max = 2048) byte[] bytes) throws IOException {
        valid(open(bytes));
    }

    /** YAML's own traps: a billion-laughs alias bomb and deep nesting are refused, not expanded. */
    @Property(tries = 10)
    void open_aliasBombOrDeepNesting_refused(@ForAll @IntRange(min = 6, max = 12) int depth,
            @ForAll @IntRange(min = 1000, max = 20000) int nesting) throws IOException {
        StringBuilder bomb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i <= depth; i++) {
            String prev = "*a" + (i - 1);
            bomb.append("a").append(i).append(": &a").append(i).append(" [").append(String.join(", ",
                    java.util.Collections.nCopies(10, prev))).append("]\n");
        }
        String manifest = text().replace("task: classification\n", "task: classification\n" + bomb);
        assertEquals(null, open(manifest.getBytes(StandardCharsets.UTF_8)), "an alias bomb opened");
        String deep = text() + "extra: " + "[".repeat(nesting) + "]".repeat(nesting) + "\n";
        assertEquals(null, open(deep.getBytes(StandardCharsets.UTF_8)), "deep nesting opened");
    }
}
