package io.ballast.replication.frontend;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.statemachine.VolumeStateMachine;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Reads from this node's replica once the {@link ReadFence} has confirmed the handle is still the
 * writer and the replica has applied the handle's last acknowledged write; a block failing its
 * checksum is repaired from a peer ({@link io.ballast.replication.rebuild.BlockRepairer BlockRepairer}).
 *
 * <p>The replica is reached through a {@link Binding} the node replaces when it reopens the
 * replica's Raft division under the open handle ({@link #rebind}): a closed division's state
 * machine and server answer nothing, so without it the handle could not read again until detached.
 * A read that failed because its binding was replaced meanwhile is read again, once, through the new one.
 */
final class LocalReplicaAccess implements ReplicaAccess {
    /** One read-fence round's wait for a read index (then asked again, within the budget). */
    private static final long FENCE_ROUND_TIMEOUT_MS = 1000;

    private final String name;
    private final long epoch;
    /** This node's replica and the Raft server that holds it. */
    record Binding(VolumeStateMachine local, LocalSubmitter server) {}

    private volatile Binding binding;
    private final Executor readExecutor;
    private final ReadFence fence;
    /** The replica's size when last read, -1 before. */
    private volatile long lastSize = -1;

    LocalReplicaAccess(String name, long epoch, VolumeStateMachine local, LocalSubmitter server, Executor readExecutor) {
        this.name = name;
        this.epoch = epoch;
        this.binding = new Binding(local, server);
        this.readExecutor = readExecutor;
        this.fence = new ReadFence(name, epoch, this::fenceRound, () -> binding.local().epoch(),
                ReplicatedBlockVolume.RETRY_BUDGET_NANOS, readExecutor);
    }

    /** The replica's division was reopened: later rounds, waits and reads go to its new state machine. */
    void rebind(VolumeStateMachine local, LocalSubmitter server) {
        binding = new Binding(local, server);
    }

    /** One read-fence round: the epoch this replica applied at a fresh, leader-confirmed read index. */
    private CompletableFuture<ByteBuffer> fenceRound() {
        Message q = Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryFence()));
        return binding.server().read(q, FENCE_ROUND_TIMEOUT_MS).thenApply(reply -> {
            BallastException e = io.ballast.replication.ratis.RatisErrors.of(reply, "read index for " + name);
            if (e != null) {
                throw e;
            }
            return reply.getMessage().getContent().asReadOnlyByteBuffer();
        });
    }

    @Override
    public void attached(long index) {
        // A handle opened on a follower that has not applied the volume's CREATE yet has no store
        // to size requests against (MembershipTest hit it); wait until the local replica has
        // applied this ATTACH, with the writes' budget.
        VolumeStateMachine local = binding.local();
        try {
            local.waitApplied(index).get(ReplicatedBlockVolume.RETRY_BUDGET_NANOS, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "attach " + name + ": interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "attach " + name + ": the local replica did not apply index "
                    + index + " in time", e);
        }
        // A handle must carry the epoch the volume has: should a newer ATTACH have landed before ours
        // was applied here (another node attaching at the same moment), this one is already fenced.
        if (local.epoch() != epoch) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "attach " + name + ": epoch " + epoch
                    + " superseded by " + local.epoch() + " before it was applied here");
        }
    }

    @Override
    public long size() {
        try {
            LocalBlockStore s = binding.local().store();
            long size = s.size();
            lastSize = size;
            return size;
        } catch (BallastException e) {
            // The division is closed (its store with it) until the node reopens it: volumes only
            // grow, so the size last seen still bounds this handle's requests.
            if (lastSize >= 0) {
                return lastSize;
            }
            throw e;
        }
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst, long lastAcked) {
        // Same budget as writes: a replica rejoining after a partition lags the new leader for a few
        // seconds, and a read that stalls beats EIO on data the client just wrote (PartitionIT).
        Binding b = binding;
        int position = dst.position();
        return readThrough(b, offset, dst, lastAcked).exceptionallyCompose(failure -> {
            if (binding == b) {
                return CompletableFuture.failedFuture(failure);
            }
            dst.position(position); // the division was reopened under this read: once more, through the new one
            return readThrough(binding, offset, dst, lastAcked);
        });
    }

    private CompletableFuture<Void> readThrough(Binding b, long offset, ByteBuffer dst, long lastAcked) {
        return fence.confirm()
                .thenCompose(confirmed -> b.local().waitApplied(lastAcked).copy()
                        .orTimeout(TimeUnit.NANOSECONDS.toMillis(ReplicatedBlockVolume.RETRY_BUDGET_NANOS), TimeUnit.MILLISECONDS))
                .thenRunAsync(() -> b.local().repairer.readRepairing(offset, dst), readExecutor);
    }

    @Override
    public boolean fenced() {
        return fence.fenced();
    }

    @Override
    public BallastException fencedError() {
        return fence.fencedError();
    }

    @Override
    public void superseded() {
        fence.supersede(Math.max(binding.local().epoch(), epoch + 1));
    }

    @Override
    public long rounds() {
        return fence.rounds();
    }
}
