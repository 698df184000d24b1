package dev.plateau.sensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Writes labelled windows in the ImageFolder layout {@code OUT/<label>/<NNNNN>.csv}, labels
 * {@value #HEALTHY} and {@value #DAMAGED}; the file number is the window's index in the run.
 *
 * <p>Windows are spread round-robin over the sites, and each site gets its share of damaged
 * windows, so no site is all healthy or all damaged. Window {@code i} depends only on the seeds and
 * {@code i}: a larger run starts with the windows of a smaller one.
 */
public final class VibrationDataset {
    public static final String HEALTHY = "healthy";
    public static final String DAMAGED = "damaged";
    public static final List<String> LABELS = List.of(HEALTHY, DAMAGED);

    private VibrationDataset() {}

    /**
     * What to generate.
     *
     * @param windows number of windows
     * @param seed seed of traffic, wind, noise, temperature and damage of each window
     * @param siteSeed seed the sites are drawn from; sites of different site seeds are different decks
     * @param sites number of sites drawn from {@code siteSeed}
     * @param damagedFraction share of windows from a damaged deck
     * @param temperatureMinC lowest deck temperature, drawn uniformly per window
     * @param temperatureMaxC highest deck temperature
     */
    public record Spec(
            int windows,
            long seed,
            long siteSeed,
            int sites,
            double damagedFraction,
            double temperatureMinC,
            double temperatureMaxC) {

        public Spec {
            Checks.inRange("windows", windows, 1, 10_000_000);
            Checks.inRange("sites", sites, 1, 100_000);
            Checks.inRange("damagedFraction", damagedFraction, 0.0, 1.0);
            Checks.inRange("temperatureMinC", temperatureMinC,
                    VibrationSimulator.MIN_TEMPERATURE_C, VibrationSimulator.MAX_TEMPERATURE_C);
            Checks.inRange("temperatureMaxC", temperatureMaxC, temperatureMinC, VibrationSimulator.MAX_TEMPERATURE_C);
        }

        /** The parameters of site {@code index} of this run. */
        public SiteParameters site(int index) {
            return SiteParameters.draw(Seeds.mix(siteSeed, index));
        }
    }

    /** What was written: the directory, the window count and the count per label. */
    public record Summary(Path out, int windows, Map<String, Integer> counts) {
        public Summary {
            counts = Map.copyOf(counts);
        }
    }

    /**
     * Writes the windows of {@code spec} under {@code out}, creating it. Refuses a directory that
     * already has entries, so a smaller run never leaves stale windows of an earlier one behind.
     */
    public static Summary write(Path out, Spec spec) throws IOException {
        requireEmpty(out);
        for (String label : LABELS) {
            Files.createDirectories(out.resolve(label));
        }
        List<VibrationSimulator> simulators = new ArrayList<>(spec.sites());
        for (int i = 0; i < spec.sites(); i++) {
            simulators.add(new VibrationSimulator(spec.site(i)));
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        LABELS.forEach(label -> counts.put(label, 0));
        for (int w = 0; w < spec.windows(); w++) {
            int site = w % spec.sites();
            boolean damaged = damaged(w / spec.sites(), spec.damagedFraction());
            SplittableRandom r = new SplittableRandom(Seeds.mix(spec.seed(), w));
            double temperature = SiteParameters.uniform(r, spec.temperatureMinC(), spec.temperatureMaxC());
            Damage damage = damaged ? Damage.draw(r) : Damage.NONE;
            double[][] window = simulators.get(site).window(temperature, damage, r.nextLong());
            String label = damaged ? DAMAGED : HEALTHY;
            Path file = out.resolve(label).resolve(String.format(Locale.ROOT, "%05d.csv", w));
            try {
                CsvWindow.write(file, VibrationSimulator.CHANNELS, window);
            } catch (IOException e) {
                throw new IOException("writing " + file + ": " + e.getMessage(), e);
            }
            counts.merge(label, 1, Integer::sum);
        }
        return new Summary(out, spec.windows(), counts);
    }

    /** Spreads the damaged windows of a site evenly over its windows (a Bresenham line). */
    static boolean damaged(int indexInSite, double fraction) {
        return Math.floor((indexInSite + 1) * fraction) > Math.floor(indexInSite * fraction);
    }

    private static void requireEmpty(Path out) throws IOException {
        if (!Files.exists(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new IllegalArgumentException("out: not a directory (" + out + ")");
        }
        try (Stream<Path> entries = Files.list(out)) {
            if (entries.findAny().isPresent()) {
                throw new IllegalArgumentException("out: directory is not empty (" + out + ")");
            }
        }
    }
}
