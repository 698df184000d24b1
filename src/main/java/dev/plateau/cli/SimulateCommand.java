package dev.plateau.cli;

import dev.plateau.sensor.VibrationDataset;
import dev.plateau.sensor.VibrationSimulator;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code plateau simulate ...}: synthetic sensor data for training, tests and demos. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Generate synthetic sensor data.",
        subcommands = {SimulateCommand.Vibration.class})
final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "a simulation is required (vibration)");
    }

    /** {@code plateau simulate vibration --out DIR ...}: labelled bridge-deck accelerometer windows. */
    @Command(name = "vibration", mixinStandardHelpOptions = true,
            description = {
                "Write 3-axis bridge-deck accelerometer windows as DIR/healthy/NNNNN.csv and DIR/damaged/NNNNN.csv "
                        + "(header ax,ay,az; " + VibrationSimulator.LENGTH + " rows at "
                        + "50 Hz; m/s2 with 4 decimals, gravity included).",
                "Windows are spread over --sites decks drawn from --site-seed; use other site seeds for decks a "
                        + "model has never seen. Prints one JSON line."
            })
    static final class Vibration implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, paramLabel = "DIR",
                description = "output directory; created, and must be empty if it exists")
        Path out;

        @Option(names = "--windows", defaultValue = "100", paramLabel = "N",
                description = "number of windows (default: ${DEFAULT-VALUE})")
        int windows;

        @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
                description = "seed of traffic, wind, noise, temperature and damage per window (default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--site-seed", defaultValue = "0", paramLabel = "S",
                description = "seed the decks are drawn from (default: ${DEFAULT-VALUE})")
        long siteSeed;

        @Option(names = "--sites", defaultValue = "1", paramLabel = "K",
                description = "number of distinct decks; windows go round-robin over them (default: ${DEFAULT-VALUE})")
        int sites;

        @Option(names = "--damaged-fraction", defaultValue = "0.5", paramLabel = "F",
                description = "share of windows from a damaged deck, 0..1 (default: ${DEFAULT-VALUE})")
        double damagedFraction;

        @Option(names = "--temperature-min", defaultValue = "-10", paramLabel = "C",
                description = "lowest deck temperature in °C (default: ${DEFAULT-VALUE})")
        double temperatureMin;

        @Option(names = "--temperature-max", defaultValue = "35", paramLabel = "C",
                description = "highest deck temperature in °C (default: ${DEFAULT-VALUE})")
        double temperatureMax;

        @Override
        public Integer call() throws Exception {
            VibrationDataset.Spec run;
            try {
                run = new VibrationDataset.Spec(
                        windows, seed, siteSeed, sites, damagedFraction, temperatureMin, temperatureMax);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), optionName(e.getMessage()));
            }
            VibrationDataset.Summary summary;
            try {
                summary = VibrationDataset.write(out, run);
            } catch (IllegalArgumentException e) {
                if (!e.getMessage().startsWith("out:")) {
                    throw e;
                }
                throw new ParameterException(spec.commandLine(), "--" + e.getMessage());
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("out", summary.out().toString());
            line.put("windows", summary.windows());
            Map<String, Integer> counts = new LinkedHashMap<>();
            VibrationDataset.LABELS.forEach(label -> counts.put(label, summary.counts().getOrDefault(label, 0)));
            line.put("counts", counts);
            line.put("seed", seed);
            line.put("site_seed", siteSeed);
            line.put("sites", sites);
            line.put("sample_rate_hz", VibrationSimulator.SAMPLE_RATE_HZ);
            line.put("length", VibrationSimulator.LENGTH);
            System.out.println(Json.line(line));
            return ExitCode.OK;
        }

        /** Spec messages name record components; the user typed options. */
        private static String optionName(String message) {
            return message
                    .replaceFirst("^damagedFraction:", "--damaged-fraction:")
                    .replaceFirst("^temperatureMinC:", "--temperature-min:")
                    .replaceFirst("^temperatureMaxC:", "--temperature-max:")
                    .replaceFirst("^windows:", "--windows:")
                    .replaceFirst("^sites:", "--sites:");
        }
    }
}
