package dev.plateau.cli;

import dev.plateau.store.DiskFullException;
import dev.plateau.store.ImportRefusedException;
import dev.plateau.store.ModelStore;
import dev.plateau.store.SigningKey;
import dev.plateau.store.StateDirectoryException;
import dev.plateau.store.StoreException;
import dev.plateau.store.TrustedKeys;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code plateau models}: the versioned store, and the fleet side's key and signing tools. */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List, inspect, activate, roll back and verify model versions in the store; "
                + "make signing keys and sign bundles.",
        subcommands = {
            ModelsCommand.ListCommand.class,
            ModelsCommand.ShowCommand.class,
            ModelsCommand.ActivateCommand.class,
            ModelsCommand.RollbackCommand.class,
            ModelsCommand.VerifyCommand.class,
            ModelsCommand.ImportCommand.class,
            ModelsCommand.KeygenCommand.class,
            ModelsCommand.SignCommand.class,
            DriftReferenceCommand.class
        })
final class ModelsCommand implements Runnable {
    @Override
    public void run() {
        throw new IllegalArgumentException("a subcommand is required: list, show, activate, rollback, verify, "
                + "import, keygen, sign, drift-reference");
    }

    static final class StoreOptions {
        @Option(names = "--store", required = true, paramLabel = "STATE", description = "state directory of the store")
        Path state;

        @Option(names = "--json", description = "one JSON object per line instead of a table")
        boolean json;

        /** The store for a command that changes it: a read-only or unwritable state directory is refused at once (78). */
        ModelStore store() {
            return new ModelStore(state);
        }

        /** The store for a command that only looks: works on a read-only state directory. */
        ModelStore reader() {
            return ModelStore.reader(state);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Versions of every model, or of MODEL.")
    static final class ListCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Parameters(arity = "0..1", paramLabel = "MODEL")
        String model;

        @Override
        public Integer call() {
            ModelStore store = options.reader();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String m : model == null ? store.models() : List.of(model)) {
                for (ModelStore.VersionInfo v : store.list(m)) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", m);
                    row.put("version", v.version());
                    row.put("manifest_version", v.manifestVersion().orElse(null));
                    row.put("status", status(v));
                    row.put("path", v.dir().toString());
                    rows.add(row);
                }
            }
            print(rows, options.json, "model", "version", "manifest_version", "status", "path");
            return ExitCode.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One model: its versions and its journal.")
    static final class ShowCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Parameters(paramLabel = "MODEL")
        String model;

        @Option(names = "--last", defaultValue = "20", description = "journal entries to show (default ${DEFAULT-VALUE})")
        int last;

        @Override
        public Integer call() {
            ModelStore store = options.reader();
            List<Map<String, Object>> journal = store.journalEntries(model);
            journal = journal.subList(Math.max(0, journal.size() - last), journal.size());
            if (options.json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", model);
                out.put("active", store.active(model));
                out.put("rollback_target", store.rollbackTarget(model).orElse(null));
                out.put("kept", store.kept(model));
                out.put("journal", journal);
                System.out.println(Json.line(out));
                return ExitCode.OK;
            }
            System.out.println("model " + model + ": active " + store.active(model) + ", rollback target "
                    + store.rollbackTarget(model).map(String::valueOf).orElse("none") + ", kept " + store.kept(model));
            for (Map<String, Object> e : journal) {
                Map<String, Object> rest = new LinkedHashMap<>(e);
                Object ts = rest.remove("ts");
                Object event = rest.remove("event");
                System.out.println(ts + "  " + String.format("%-12s", event) + " " + rest);
            }
            return ExitCode.OK;
        }
    }

    @Command(name = "activate", mixinStandardHelpOptions = true, description = "Make VERSION of MODEL active.")
    static final class ActivateCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Parameters(index = "0", paramLabel = "MODEL")
        String model;

        @Parameters(index = "1", paramLabel = "VERSION")
        int version;

        @Override
        public Integer call() {
            return report(options, () -> options.store().activate(model, version, "by command"));
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Go back to VERSION, or to the previous kept version.")
    static final class RollbackCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Parameters(index = "0", paramLabel = "MODEL")
        String model;

        @Parameters(index = "1", arity = "0..1", paramLabel = "VERSION")
        Integer version;

        @Override
        public Integer call() {
            return report(options, () -> options.store().rollback(model, version, -1, "by command"));
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Import a signed bundle (directory or .zip) and activate it; refused unless signed by a "
                    + "trusted key (STATE/keys/trusted/*.pub) and newer than the current version.")
    static final class ImportCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Parameters(paramLabel = "BUNDLE")
        Path bundle;

        @Option(names = "--rollback", description = "allow a version not above the current one")
        boolean rollback;

        @Override
        public Integer call() {
            return report(options, () -> options.store().importBundle(bundle, ModelStore.trustedKeys(options.state),
                    rollback));
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check hashes and signatures of every version, and look for leftovers of interrupted "
                    + "writes. Exit 3 when any check fails or anything is left over.")
    static final class VerifyCommand implements Callable<Integer> {
        @Mixin
        StoreOptions options;

        @Option(names = "--keys", paramLabel = "DIR", description = "trusted public keys (default STATE/keys/trusted)")
        Path keys;

        @Override
        public Integer call() {
            ModelStore store = options.reader();
            TrustedKeys trusted = keys == null ? ModelStore.trustedKeys(options.state) : TrustedKeys.load(keys);
            List<Map<String, Object>> rows = new ArrayList<>();
            boolean ok = true;
            for (String m : store.models()) {
                for (ModelStore.Check c : store.verify(m, trusted)) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", c.model());
                    row.put("version", c.version());
                    row.put("ok", c.ok());
                    row.put("detail", c.detail());
                    rows.add(row);
                    ok &= c.ok();
                }
            }
            for (ModelStore.Leftover l : store.leftovers()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("model", l.model().isEmpty() ? null : l.model());
                row.put("version", null);
                row.put("ok", false);
                row.put("detail", "leftover " + options.state.relativize(l.path()) + " (" + l.bytes()
                        + " bytes) of an interrupted write; the store removes it when it is next opened");
                rows.add(row);
                ok = false;
            }
            print(rows, options.json, "model", "version", "ok", "detail");
            return ok ? ExitCode.OK : ExitCode.REJECTED;
        }
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = "Make an Ed25519 key pair: DIR/NAME.key (keep secret) and DIR/NAME.pub (give to devices).")
    static final class KeygenCommand implements Callable<Integer> {
        @Option(names = "--out", required = true, paramLabel = "DIR")
        Path out;

        @Option(names = "--name", defaultValue = "fleet", description = "file name stem (default ${DEFAULT-VALUE})")
        String name;

        @Override
        public Integer call() {
            SigningKey key = SigningKey.generate();
            Path file = key.save(out, name);
            System.out.println(Json.line(Map.of("key", file.toString(), "key_id", key.keyId())));
            return ExitCode.OK;
        }
    }

    @Command(name = "sign", mixinStandardHelpOptions = true,
            description = "Sign BUNDLE: writes BUNDLE/signature.json over the SHA-256 of every file.")
    static final class SignCommand implements Callable<Integer> {
        @Option(names = "--key", required = true, paramLabel = "KEY", description = "private key file NAME.key")
        Path key;

        @Parameters(paramLabel = "BUNDLE")
        Path bundle;

        @Override
        public Integer call() {
            SigningKey signing = SigningKey.load(key);
            signing.sign(bundle);
            System.out.println(Json.line(Map.of("bundle", bundle.toString(), "key_id", signing.keyId())));
            return ExitCode.OK;
        }
    }

    private static Integer report(StoreOptions options, Callable<ModelStore.Activation> action) {
        ModelStore.Activation a;
        try {
            a = action.call();
        } catch (ImportRefusedException e) {
            System.err.println("refused: " + e.getMessage());
            return ExitCode.REJECTED;
        } catch (StateDirectoryException | DiskFullException e) {
            throw e; // exit codes of the environment, not of this store operation: see Main
        } catch (StoreException e) {
            System.err.println("error: " + e.getMessage());
            return ExitCode.BAD_INPUT;
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        if (options.json) {
            System.out.println(Json.line(Map.of("model", a.model(), "active", a.version(), "previous", a.previous())));
        } else {
            System.out.println(a.model() + ": active " + a.version() + " (was " + a.previous() + ")");
        }
        return ExitCode.OK;
    }

    private static String status(ModelStore.VersionInfo v) {
        List<String> s = new ArrayList<>();
        if (v.active()) {
            s.add("active");
        }
        if (v.kept()) {
            s.add("kept");
        }
        if (v.rollbackTarget()) {
            s.add("rollback-target");
        }
        if (v.version() == ModelStore.SHIPPED) {
            s.add("shipped");
        }
        return String.join(",", s);
    }

    private static void print(List<Map<String, Object>> rows, boolean json, String... columns) {
        if (json) {
            rows.forEach(r -> System.out.println(Json.line(r)));
            return;
        }
        int[] width = new int[columns.length];
        for (int c = 0; c < columns.length; c++) {
            width[c] = columns[c].length();
            for (Map<String, Object> r : rows) {
                width[c] = Math.max(width[c], String.valueOf(r.get(columns[c])).length());
            }
        }
        StringBuilder header = new StringBuilder();
        for (int c = 0; c < columns.length; c++) {
            header.append(String.format("%-" + (width[c] + 2) + "s", columns[c].toUpperCase()));
        }
        System.out.println(header.toString().stripTrailing());
        for (Map<String, Object> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns.length; c++) {
                Object v = r.get(columns[c]);
                line.append(String.format("%-" + (width[c] + 2) + "s", v == null ? "-" : v));
            }
            System.out.println(line.toString().stripTrailing());
        }
    }
}
