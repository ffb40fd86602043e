package io.ballast.replication;

import java.util.List;
import java.util.Set;

/**
 * Which nodes an operator put into maintenance (`ballast node drain`), as the catalog's last
 * heartbeat reply said: this node hands its leaderships over while it is among them
 * ({@link LeaderHandoff}), and that handoff never picks one of them as the new leader (an election
 * or an explicit transfer still may; the drained node then hands the group on within seconds).
 */
public final class DrainState {
    private final String self;
    private volatile Set<String> drained = Set.of();

    DrainState(String self) {
        this.self = self;
    }

    /** The drained nodes the catalog reported. */
    public void reported(List<String> nodes) {
        drained = Set.copyOf(nodes);
    }

    public boolean selfDrained() {
        return drained.contains(self);
    }

    public boolean drained(String node) {
        return drained.contains(node);
    }
}
