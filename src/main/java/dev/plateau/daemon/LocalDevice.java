package dev.plateau.daemon;

import dev.plateau.http.DeviceView;
import dev.plateau.inference.InputRejectedException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The device as the local HTTP server sees it: the {@link HealthView}'s figures and the {@link HttpInputs}. */
final class LocalDevice implements DeviceView {
    private final HealthView health;
    private final HttpInputs inputs;
    private final boolean fleetConfigured;

    LocalDevice(HealthView health, HttpInputs inputs, boolean fleetConfigured) {
        this.health = health;
        this.inputs = inputs;
        this.fleetConfigured = fleetConfigured;
    }

    @Override
    public boolean ready() {
        return health.ready();
    }

    @Override
    public List<ModelView> models() {
        return health.models();
    }

    @Override
    public Map<String, ?> health() {
        return health.health();
    }

    @Override
    public Optional<FleetView> fleet() {
        return health.fleet(fleetConfigured);
    }

    @Override
    public List<Recent> recent(String model) {
        return health.recent(model);
    }

    @Override
    public Optional<String> lastFineTuneReport(String model) {
        return health.lastFineTuneReport(model);
    }

    @Override
    public Served infer(String model, Input input) throws InputRejectedException {
        return inputs.infer(model, input);
    }
}
