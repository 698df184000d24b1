package dev.plateau.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.plateau.fleet.FleetClient;
import dev.plateau.fleet.SampleExchange;
import dev.plateau.store.SigningKey;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau fleet samples} and {@code plateau fleet label}: wiring of {@link SampleExchange}. */
final class FleetSamples {
    private FleetSamples() {}

    static final class Target {
        @Parameters(index = "0", paramLabel = "NODE")
        String node;

        @Option(names = "--model", required = true, paramLabel = "MODEL")
        String model;

        @Option(names = "--key", paramLabel = "KEY", description = "sign commands with this operator key")
        Path key;

        @Option(names = "--timeout", defaultValue = "300", paramLabel = "S",
                description = "seconds for each reply and for the transfer (default: ${DEFAULT-VALUE})")
        int timeoutSeconds;

        Optional<SigningKey> signer() {
            return key == null ? Optional.empty() : Optional.of(SigningKey.load(key));
        }

        Duration timeout() {
            return Duration.ofSeconds(timeoutSeconds);
        }
    }

    @Command(name = "samples", mixinStandardHelpOptions = true,
            description = {"Pull samples NODE kept for MODEL (newest first) into DIR/unlabelled/, indexed in "
                    + "DIR/samples.jsonl, in hash-checked chunks; run again to resume a pull cut short.",
                "Exit 0 pulled, 2 rejected by the device, 3 failed on the device, 1 no reply or transfer failed."})
    static final class Pull implements Callable<Integer> {
        @Mixin
        FleetCommand.Connection connection;

        @Mixin
        Target target;

        @Option(names = "--drifted", description = "only samples kept while drift was detected")
        boolean drifted;

        @Option(names = "--unlabelled", description = "only samples without a label")
        boolean unlabelled;

        @Option(names = "--limit", paramLabel = "N", description = "at most N samples (device default 200, at most 1000)")
        Integer limit;

        @Option(names = "--out", required = true, paramLabel = "DIR")
        Path out;

        @Override
        public Integer call() {
            ObjectNode selection = new ObjectMapper().createObjectNode();
            if (drifted) {
                selection.put("drifted", true);
            }
            if (unlabelled) {
                selection.put("unlabelled", true);
            }
            if (limit != null) {
                selection.put("limit", limit);
            }
            long begin = System.nanoTime();
            try (FleetClient client = connection.connect()) {
                SampleExchange.Pulled p = SampleExchange.pull(client, target.node, target.model, selection, out,
                        target.signer(), target.timeout(), System.err::println);
                System.out.printf("pulled %d sample(s) of %s from %s into %s (%d already sorted, skipped); %d bytes "
                                + "in %d chunk(s), transfer %s%s, %.1f s%n", p.samples(), target.model, target.node,
                        out.resolve(SampleExchange.UNLABELLED), p.skipped(), p.bytes(), p.chunks(), p.transfer(),
                        p.resumed() ? " (resumed)" : "", (System.nanoTime() - begin) / 1e9);
                return ExitCode.OK;
            } catch (SampleExchange.Refused e) {
                System.out.println(e.getMessage());
                return e.state().equals("rejected") ? ExitCode.BAD_INPUT : ExitCode.REJECTED;
            }
        }
    }

    @Command(name = "label", mixinStandardHelpOptions = true,
            description = {"Send the labels given by sorting pulled samples into DIR/<label>/: each file is the sample "
                    + "DIR/samples.jsonl names for it (or whose id its name is).",
                "Exit 0 sent, 2 a file that is no sample or a label the device rejects, 3 failed on the device, 1 no reply."})
    static final class Label implements Callable<Integer> {
        @Mixin
        FleetCommand.Connection connection;

        @Mixin
        Target target;

        @Option(names = "--from", required = true, paramLabel = "DIR")
        Path from;

        @Override
        public Integer call() {
            try (FleetClient client = connection.connect()) {
                SampleExchange.Labelled l = SampleExchange.label(client, target.node, target.model, from,
                        target.signer(), target.timeout(), System.err::println);
                int total = l.perLabel().values().stream().mapToInt(Integer::intValue).sum();
                System.out.println("labelled " + total + " sample(s) of " + target.model + " on " + target.node
                        + " in " + l.commands() + " command(s): " + l.perLabel());
                return ExitCode.OK;
            } catch (SampleExchange.Refused e) {
                System.out.println(e.getMessage());
                return e.state().equals("rejected") ? ExitCode.BAD_INPUT : ExitCode.REJECTED;
            }
        }
    }
}
