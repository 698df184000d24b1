package dev.plateau.cli;

import dev.plateau.config.ConfigException;
import dev.plateau.daemon.LogSetup;
import dev.plateau.daemon.StartCache;
import dev.plateau.inference.OrtRuntime;
import dev.plateau.fleet.FleetException;
import dev.plateau.model.BundleException;
import dev.plateau.store.DiskFullException;
import dev.plateau.store.StateDirectoryException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code plateau}: wires the commands and maps failures to exit codes. */
@Command(name = "plateau",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Edge runtime: ONNX inference, guarded on-device fine-tuning, fleet link over MQTT.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:internal error (a bug: with a stack trace), or a failure named without one: a full disk, no broker",
            "2:usage or bad input",
            "3:rejected by a guard",
            "78:configuration error: the config, a configured model, or a read-only or unwritable state directory"
        })
public final class Main implements Runnable {
    /**
     * The commands, in the order usage lists them. Only the one a command line names is built:
     * picocli reads every option of every registered command by reflection, which took most of a
     * second of {@code plateau run}'s start on a 2-core device. Anything else (no command, an
     * unknown one, {@code help}, an option first) gets them all, so usage and errors list them.
     */
    private static final List<Class<?>> COMMANDS = List.of(RunCommand.class, ConfigCommand.class, InferCommand.class,
            EvalCommand.class, TuneCommand.class, ModelsCommand.class, BenchCommand.class, SimulateCommand.class,
            FleetCommand.class, CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) throws InterruptedException {
        LogSetup.forCommand();
        StartCache.use();
        int[] status = {ExitCode.INTERNAL};
        Thread main = new Thread(null, () -> status[0] = execute(args), "plateau-main",
                OrtRuntime.CALLER_STACK_BYTES);
        main.start();
        main.join();
        System.exit(status[0]);
    }

    /**
     * Runs a command line and returns its exit code; the tests call this in-process. The unit's
     * command line, {@code run -c FILE}, runs without picocli: picocli's classes are compiled for
     * Java 5, which a class-data archive cannot hold, and loading, verifying and reflecting over
     * them took 0.14 s of each start (README: Footprint and start). Any other form of {@code run}
     * (an option more, {@code --help}) goes through picocli as every command does.
     */
    public static int execute(String... args) {
        if (args.length == 3 && args[0].equals("run") && (args[1].equals("-c") || args[1].equals("--config"))) {
            try {
                return RunCommand.run(Path.of(args[2]));
            } catch (Exception e) {
                return handle(e, new PrintWriter(System.err, true));
            }
        }
        CommandLine cli = new CommandLine(new Main());
        Class<?> named = args.length == 0 ? null : COMMANDS.stream()
                .filter(c -> c != CommandLine.HelpCommand.class && name(c).equals(args[0])).findFirst().orElse(null);
        for (Class<?> command : COMMANDS) {
            if (named == null || command == named) {
                cli.addSubcommand(name(command), command);
            }
        }
        cli.setExecutionExceptionHandler((e, command, parsed) -> handle(e, command.getErr()));
        return cli.execute(args);
    }

    private static String name(Class<?> command) {
        return command.getAnnotation(Command.class).name();
    }

    private static int handle(Exception e, PrintWriter err) {
        if (e instanceof ConfigException) {
            err.println("configuration error: " + e.getMessage());
            return ExitCode.CONFIG;
        }
        if (e instanceof StateDirectoryException) {
            // Read-only, not ours, not a directory: restarting cannot help (systemd stops at 78).
            err.println("configuration error: " + e.getMessage());
            return ExitCode.CONFIG;
        }
        if (e instanceof DiskFullException) {
            // Not a bug, so no stack trace: the message names the directory and the bytes.
            err.println("error: " + e.getMessage());
            return ExitCode.INTERNAL;
        }
        if (e instanceof BundleException || e instanceof IllegalArgumentException) {
            err.println("error: " + e.getMessage());
            return ExitCode.BAD_INPUT;
        }
        if (e instanceof FleetException) {
            // A broker that cannot be reached or refuses us: the message says which and why.
            err.println("error: " + e.getMessage());
            return ExitCode.INTERNAL;
        }
        err.println("internal error: " + e);
        e.printStackTrace(err);
        return ExitCode.INTERNAL;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"plateau " + (version == null ? "(development build)" : version)};
        }
    }
}
