package dev.plateau.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A device configuration for child-process tests: the tiny gray model, a 20 Hz replay of one
 * image whose middle row is bright (classified {@code middle}), and an inbox, all under {@code tmp}.
 */
public final class TinyDevice {
    private TinyDevice() {}

    /** @param bundleDir a bundle directory under {@code tmp} to use instead of the tiny one, or null */
    public static Path config(Path tmp, String bundleDir) throws IOException {
        Path bundle = TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4());
        Path replay = Files.createDirectories(tmp.resolve("replay/middle"));
        int[][] px = new int[4][4];
        px[1] = new int[] {255, 255, 255, 255};
        Files.write(replay.resolve("a.png"), Files2.grayPng(px));
        Path config = tmp.resolve("device.yaml");
        Files.writeString(config, """
                device: {group: test, node: child}
                state_dir: %s
                models:
                  - {name: tiny, bundle: %s}
                sources:
                  - {name: cam, type: replay, model: tiny, path: %s, rate_hz: 20}
                  - {name: inbox, type: directory, model: tiny, path: %s, poll_ms: 50, settle_ms: 0}
                """.formatted(tmp.resolve("state"), bundleDir == null ? bundle : tmp.resolve(bundleDir),
                tmp.resolve("replay"), tmp.resolve("inbox")));
        return config;
    }

    /**
     * Two inboxes under {@code tmp}: {@code images} for the 4x4 gray model ({@code tiny}) and
     * {@code windows} for the 3x8 CSV model ({@code window}); the state in {@code tmp/state}.
     */
    public static Path twoInboxes(Path tmp, String node) throws IOException {
        Path gray = TinyModels.bundle(tmp.resolve("gray"), TinyModels.gray4x4());
        Path window = TinyModels.bundle(tmp.resolve("window"), TinyModels.window3x8());
        return Files.writeString(tmp.resolve("device.yaml"), """
                device: {group: test, node: %s}
                state_dir: %s
                models:
                  - {name: tiny, bundle: %s}
                  - {name: window, bundle: %s}
                sources:
                  - {name: images, type: directory, model: tiny, path: %s, poll_ms: 50, settle_ms: 0}
                  - {name: windows, type: directory, model: window, path: %s, poll_ms: 50, settle_ms: 0}
                """.formatted(node, tmp.resolve("state"), gray, window, tmp.resolve("images"), tmp.resolve("windows")));
    }
}
