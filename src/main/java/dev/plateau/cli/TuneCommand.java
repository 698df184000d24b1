package dev.plateau.cli;

import dev.plateau.model.GraphException;
import dev.plateau.model.ModelBundle;
import dev.plateau.store.ModelStore;
import dev.plateau.tuning.BudgetExceededException;
import dev.plateau.tuning.FineTune;
import dev.plateau.tuning.TuningConfig;
import dev.plateau.tuning.TuningDataException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code plateau tune}: one guarded fine-tune of a bundle's head. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a bundle's head on labelled data DIR/<label>/<file>, guarded by the budget, "
                + "convergence and acceptance checks. Prints the report as JSON; on acceptance the new bundle is "
                + "the next version in the store.",
            "Exit 0 accepted, 3 rejected by a guard, 2 bad input."})
final class TuneCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BUNDLE", description = "current model bundle")
    Path bundle;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR", description = "labelled new data")
    Path data;

    @Option(names = "--val", paramLabel = "DIR",
            description = "labelled validation data (default: a stratified val_fraction of DIR)")
    Path validation;

    @Option(names = "--store", required = true, paramLabel = "STATE", description = "state directory of the store")
    Path store;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "override a tuning setting (see the README), e.g. --set lr=0.01 --set optimizer=sgd")
    Map<String, String> overrides = new LinkedHashMap<>();

    /**
     * One line per trial and epoch on stderr, so that stdout carries only the JSON report; on a
     * terminal, epoch lines overwrite each other and trial lines stay.
     */
    private static java.util.function.Consumer<String> progress() {
        boolean terminal = System.console() != null;
        return line -> {
            if (terminal && line.startsWith("  epoch")) {
                System.err.print("\r\033[K" + line);
            } else {
                System.err.println((terminal ? "\r\033[K" : "") + line);
            }
            System.err.flush();
        };
    }

    @Override
    public Integer call() {
        TuningConfig config = TuningConfig.fromOverrides(overrides);
        ModelBundle current = ModelBundle.open(bundle);
        FineTune.Outcome outcome;
        try {
            // Signed with the store's device key, created as the daemon creates it.
            ModelStore signing = ModelStore.signedByDevice(store, Clock.systemUTC(), ModelStore.KEEP_LAST);
            outcome = new FineTune(current, signing, config, Clock.systemUTC(), progress()).run(data, validation);
        } catch (TuningDataException | GraphException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (BudgetExceededException e) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", current.manifest().name());
            report.put("decision", "rejected");
            report.put("verdict", "budget");
            report.put("reason", e.getMessage());
            System.out.println(Json.line(report));
            return ExitCode.REJECTED;
        }
        System.out.println(outcome.report().toJson());
        return outcome.accepted() ? ExitCode.OK : ExitCode.REJECTED;
    }
}
