package io.ballast.replication.rebuild;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.ratis.server.protocol.TermIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes a rebuild that Ratis leaves half-installed. After our state machine has copied the
 * leader's blocks and answered Ratis's install notification, Ratis 3.3.0 reloads the state machine
 * only when the <em>next</em> notification from the leader arrives; until then the follower answers
 * every append with "snapshot installation in progress" and its log's next index. The leader takes
 * that index as the follower's next one, and once it is not below the leader's first log entry it
 * never notifies again: the follower is stuck for good (seen in ReplicatedFailoverIT, and by issue
 * 14 under continuous writes). A restart of the node used to clear it: on start the replica loads
 * the snapshot the rebuild wrote, Ratis drops the log below it, and catches up normally.
 *
 * <p>So when the reload has not come {@link #GRACE_MILLIS} after a rebuild, this restarts the
 * replica's Raft division (closed and opened again from its directory, blocks kept), which does
 * the same for this group alone (a frontend open on this node follows the reopened division). When
 * the restart fails it tries again later.
 *
 * <p>Threading: thread-safe; checks run on the given executor.
 */
public final class RebuildHandover {
    private static final Logger LOG = LoggerFactory.getLogger(RebuildHandover.class);
    public static final long GRACE_MILLIS = Long.getLong("ballast.rebuild.handoverMillis", 5000);

    private final Supplier<String> name;
    private final Executor executor;
    private final long graceMillis;
    /** Restarts the division; false when it cannot now (then asked again after the grace). */
    private final BooleanSupplier restartDivision;
    private volatile TermIndex pending;
    /** Said once per rebuild: retries (a frontend holds the volume) go to DEBUG. */
    private volatile boolean warned;

    public RebuildHandover(Supplier<String> name, Executor executor, long graceMillis, BooleanSupplier restartDivision) {
        this.name = name;
        this.executor = executor;
        this.graceMillis = graceMillis;
        this.restartDivision = restartDivision;
    }

    /** A rebuild up to {@code installed} was handed to Ratis. */
    public void rebuilt(TermIndex installed) {
        pending = installed;
        warned = false;
        checkLater(installed);
    }

    /** Ratis reloaded the state machine: the handover completed. */
    public void reloaded() {
        pending = null;
    }

    private void checkLater(TermIndex installed) {
        CompletableFuture.delayedExecutor(graceMillis, TimeUnit.MILLISECONDS, executor).execute(() -> check(installed));
    }

    private void check(TermIndex installed) {
        if (pending != installed) {
            return;
        }
        boolean first = !warned;
        warned = true;
        (first ? LOG.atWarn() : LOG.atDebug()).log("{}: rebuilt up to {} but Ratis has not reloaded it after {} ms (the leader sends no new install "
                + "notification); restarting this replica's Raft division to load it", name.get(), installed, graceMillis);
        try {
            if (restartDivision.getAsBoolean()) {
                pending = null;
                return;
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: restarting the Raft division failed, will retry: {}", name.get(), e.toString());
        }
        checkLater(installed);
    }
}
