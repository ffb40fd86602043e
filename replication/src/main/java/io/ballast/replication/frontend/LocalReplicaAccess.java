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
 */
final class LocalReplicaAccess implements ReplicaAccess {
    /** One read-fence round's wait for a read index (then asked again, within the budget). */
    private static final long FENCE_ROUND_TIMEOUT_MS = 1000;

    private final String name;
    private final long epoch;
    private final VolumeStateMachine local;
    private final LocalSubmitter server;
    private final Executor readExecutor;
    private final ReadFence fence;

    LocalReplicaAccess(String name, long epoch, VolumeStateMachine local, LocalSubmitter server, Executor readExecutor) {
        this.name = name;
        this.epoch = epoch;
        this.local = local;
        this.server = server;
        this.readExecutor = readExecutor;
        this.fence = new ReadFence(name, epoch, this::fenceRound, local::epoch, ReplicatedBlockVolume.RETRY_BUDGET_NANOS,
                readExecutor);
    }

    /** One read-fence round: the epoch this replica applied at a fresh, leader-confirmed read index. */
    private CompletableFuture<ByteBuffer> fenceRound() {
        Message q = Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryFence()));
        return server.read(q, FENCE_ROUND_TIMEOUT_MS).thenApply(reply -> {
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
        LocalBlockStore s = local.store();
        return s.size();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst, long lastAcked) {
        // Same budget as writes: a replica rejoining after a partition lags the new leader for a few
        // seconds, and a read that stalls beats EIO on data the client just wrote (PartitionIT).
        return fence.confirm()
                .thenCompose(confirmed -> local.waitApplied(lastAcked).copy()
                        .orTimeout(TimeUnit.NANOSECONDS.toMillis(ReplicatedBlockVolume.RETRY_BUDGET_NANOS), TimeUnit.MILLISECONDS))
                .thenRunAsync(() -> local.repairer.readRepairing(offset, dst), readExecutor);
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
        fence.supersede(Math.max(local.epoch(), epoch + 1));
    }

    @Override
    public long rounds() {
        return fence.rounds();
    }
}
