package io.ballast.replication.frontend;

import io.ballast.engine.error.BallastException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Where a volume handle reads and learns the volume's size and writer epoch: this node's replica
 * ({@link LocalReplicaAccess}, read-fenced) or, on a node without one, the group's leader over the
 * network ({@link LeaderReplicaAccess}, epoch-checked at a Raft read index). Writes do not depend on
 * it: they go through the log either way. Implementations are thread-safe.
 */
interface ReplicaAccess {
    /**
     * Called once the handle's ATTACH was acknowledged at {@code index}: returns when reads can see
     * it. FAILED_PRECONDITION when a newer epoch than the handle's is already the volume's.
     */
    void attached(long index);

    /** The volume's size as known here. */
    long size();

    /** Reads {@code dst.remaining()} bytes at {@code offset}, seeing every write acknowledged up to {@code lastAcked}. */
    CompletableFuture<Void> read(long offset, ByteBuffer dst, long lastAcked);

    /** True once a newer writer epoch is known: every request of the handle must fail. */
    boolean fenced();

    BallastException fencedError();

    /** Marks the handle superseded (a write was refused or ignored for its epoch). */
    void superseded();

    /** Read-fence rounds (local) or leader reads (remote) so far. */
    long rounds();
}
