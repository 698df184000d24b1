package dev.plateau.cli;

import dev.plateau.config.ConfigException;
import dev.plateau.config.ConfigLoader;
import dev.plateau.config.DeviceConfig;
import dev.plateau.daemon.Daemon;
import dev.plateau.http.HttpService;
import dev.plateau.daemon.LogSetup;
import dev.plateau.daemon.Signals;
import dev.plateau.daemon.StartCache;
import dev.plateau.daemon.SystemdNotifier;
import dev.plateau.daemon.Termination;
import dev.plateau.fleet.FleetException;
import dev.plateau.model.BundleException;
import dev.plateau.store.StateDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code plateau run -c CONFIG}: the daemon, until SIGTERM or SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the daemon until SIGTERM/SIGINT, then stop cleanly and exit 0.")
final class RunCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "CONFIG", description = "device config YAML")
    Path config;

    /** The command on {@code config}, as picocli calls it: {@link Main} runs the unit's command line so. */
    static int run(Path config) throws InterruptedException {
        RunCommand command = new RunCommand();
        command.config = config;
        return command.call();
    }

    @Override
    public Integer call() throws InterruptedException {
        try (SystemdNotifier systemd = SystemdNotifier.fromEnvironment()) {
            try {
                run(systemd);
            } catch (ConfigException e) {
                // Exit 78 stops systemd's restarts (RestartPreventExitStatus=78); STATUS= says why.
                systemd.status("configuration error: " + e.source() + ": " + String.join("; ", e.errors()));
                throw e;
            }
        }
        return ExitCode.OK;
    }

    private void run(SystemdNotifier systemd) throws InterruptedException {
        DeviceConfig device = ConfigLoader.load(config);
        LogSetup.forDaemon(device.logging());
        StartCache.warnIfUnused();
        Termination termination = Termination.install(Daemon.STOP_TIMEOUT.toMillis() + 5_000);
        try (Daemon daemon = new Daemon(device, Clock.systemUTC(), systemd)) {
            Signals.handle("HUP", () -> reload(daemon));
            try {
                daemon.start();
            } catch (BundleException e) {
                Logger.error("cannot start: {}", e.getMessage());
                // A model that will not load is a configuration problem: a restart cannot fix it.
                throw new ConfigException(config.toString(), List.of("models: " + e.getMessage()));
            } catch (FleetException e) {
                Logger.error("cannot start: {}", e.getMessage());
                // An unreadable keystore or password file: as above.
                throw new ConfigException(config.toString(), List.of(e.getMessage()));
            } catch (StateDirectoryException e) {
                Logger.error("cannot start: {}", e.getMessage());
                // A read-only or foreign state directory: as above.
                throw new ConfigException(config.toString(), List.of("state_dir: " + e.getMessage()));
            } catch (HttpService.StartException e) {
                Logger.error("cannot start: {}", e.getMessage());
                // The address is taken or not this host's, or the token or key store is unreadable: as above.
                throw new ConfigException(config.toString(), List.of(e.getMessage()));
            } catch (IllegalArgumentException e) {
                Logger.error("cannot start: {}", e.getMessage());
                // e.g. a replay source with nothing to replay: as above.
                throw new ConfigException(config.toString(), List.of("sources: " + e.getMessage()));
            }
            termination.await();
        } finally {
            termination.stopped();
        }
    }

    /** SIGHUP: a configuration that fails to load changes nothing; a valid one is applied where safe. */
    private void reload(Daemon daemon) {
        try {
            daemon.reload(ConfigLoader.load(config));
        } catch (ConfigException e) {
            Logger.error("reload refused, the running configuration stays: {}", e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "reload failed, the running configuration stays");
        }
    }
}
