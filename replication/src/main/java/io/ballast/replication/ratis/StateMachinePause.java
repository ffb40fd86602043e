package io.ballast.replication.ratis;

import org.apache.ratis.util.LifeCycle;

/**
 * The pause Ratis asks of a state machine before it installs a snapshot: Ratis requires the
 * lifecycle to be PAUSED before {@code reinitialize()}, and BaseStateMachine's own {@code pause()}
 * does nothing. Written once for the volume and catalog state machines.
 */
public final class StateMachinePause {
    private StateMachinePause() {
    }

    /** RUNNING becomes PAUSED (through PAUSING); any other state is left as it is. */
    public static void pause(LifeCycle lifeCycle) {
        if (lifeCycle.getCurrentState() == LifeCycle.State.RUNNING) {
            lifeCycle.transition(LifeCycle.State.PAUSING);
            lifeCycle.transition(LifeCycle.State.PAUSED);
        }
    }
}
