package dev.plateau.cli;

import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code plateau config check -c FILE}: validates a device configuration and nothing else. */
@Command(name = "config", description = "Device configuration.", subcommands = ConfigCommand.Check.class,
        mixinStandardHelpOptions = true)
final class ConfigCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Check a device configuration; exit 78 listing every error as path: reason (line:col).")
    static final class Check implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "CONFIG", description = "device config YAML")
        Path config;

        @Override
        public Integer call() {
            DeviceConfig loaded = ConfigLoader.load(config);
            System.out.println(config + ": ok (device " + loaded.device().group() + "/" + loaded.device().node()
                    + ", " + loaded.models().size() + " model(s), " + loaded.sources().size() + " source(s)"
                    + (loaded.mqtt().isPresent() ? ", mqtt " + loaded.mqtt().get().broker() : ", no broker") + ")");
            return ExitCode.OK;
        }
    }
}
