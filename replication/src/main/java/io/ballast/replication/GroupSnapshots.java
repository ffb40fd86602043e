package io.ballast.replication;

import static io.ballast.replication.entry.VolumeLogLayout.ST_EXISTS;
import static io.ballast.replication.entry.VolumeLogLayout.ST_OK;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.engine.store.VolumeSnapshots;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.snapshot.CloneOrigin;
import io.ballast.replication.snapshot.ReplicaSnapshots;
import io.ballast.replication.snapshot.SnapshotBlockRepair;
import io.ballast.replication.snapshot.SnapshotStatus;
import io.ballast.replication.statemachine.VolumeStateMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Snapshots of the volumes this node holds a replica of, taken through the volume's log: a
 * SNAPSHOT entry makes every replica copy its own store at that index ({@link ReplicaSnapshots}),
 * a DELETE_SNAPSHOT entry deletes the copies. The node handling a call need not lead the group.
 *
 * <p>Calls return once the entry is committed and applied on the leader and on this node's replica,
 * so {@link #list} here reflects them at once; other replicas apply them moments later (or hold no
 * copy: a replica rebuilt by block copy, see {@link SnapshotStatus#note}).
 *
 * <p>Threading: thread-safe; blocking. Errors ({@link BallastException}): NOT_FOUND when this node
 * has no replica of the volume (or, for {@link #open}, no such snapshot), INVALID_ARGUMENT for a
 * malformed id, FAILED_PRECONDITION for a snapshot this replica does not hold complete,
 * UNAVAILABLE when the group has no quorum in time.
 */
public final class GroupSnapshots {
    /** How long a call waits for this node's replica to apply an entry the leader applied. */
    private static final long LOCAL_APPLY_TIMEOUT_SECONDS = 120;

    private final RaftNode raft;

    GroupSnapshots(RaftNode raft) {
        this.raft = raft;
    }

    /** The outcome of {@link #create}: the snapshot as this replica has it, and whether this call took it. */
    public record Created(SnapshotStatus snapshot, boolean created) {}

    /**
     * Takes snapshot {@code id} of {@code volume} on every replica (crash-consistent: the volume as of
     * one log index). Idempotent: an id the group already took returns it with {@code created=false}.
     * Writes to the volume pause while each replica copies (see {@link VolumeSnapshots#take}).
     */
    public Created create(String volume, String id) {
        VolumeStateMachine sm = raft.stateMachine(volume);
        VolumeSnapshots.checkId(id);
        Optional<SnapshotStatus> known = get(volume, id);
        if (known.isPresent() && known.get().registered()) {
            return new Created(known.get(), false);
        }
        boolean created;
        long index;
        try {
            RaftClientReply r = send(volume, VolumeLogLayout.snapshot(id, System.currentTimeMillis()));
            byte st = VolumeLogLayout.decodeReply(r.getMessage().getContent().asReadOnlyByteBuffer())[0];
            if (st != ST_OK && st != ST_EXISTS) {
                throw new BallastException(ErrorCode.INTERNAL, "snapshot " + id + " of " + volume + ": apply status " + st);
            }
            created = st == ST_OK;
            index = r.getLogIndex();
        } catch (BallastException e) {
            if (e.code() != ErrorCode.ALREADY_EXISTS) {
                throw e;
            }
            created = false; // the leader has it; this replica may still be applying it
            index = raft.status(volume).commitIndex();
        }
        awaitLocal(sm, index, volume);
        SnapshotStatus s = get(volume, id).orElseThrow(() -> new BallastException(ErrorCode.INTERNAL,
                "snapshot " + id + " of " + volume + " was taken but this replica does not list it"));
        return new Created(s, created);
    }

    /** Deletes snapshot {@code id} of {@code volume} on every replica. Idempotent: absent is fine. */
    public void delete(String volume, String id) {
        VolumeStateMachine sm = raft.stateMachine(volume);
        VolumeSnapshots.checkId(id);
        RaftClientReply r = send(volume, VolumeLogLayout.deleteSnapshot(id));
        awaitLocal(sm, r.getLogIndex(), volume);
    }

    /** The volume's snapshots as this replica knows them (registered by the group, or local copies), by id. */
    public List<SnapshotStatus> list(String volume) {
        return raft.stateMachine(volume).snapshots.list(volume);
    }

    public Optional<SnapshotStatus> get(String volume, String id) {
        return list(volume).stream().filter(s -> s.id().equals(id)).findFirst();
    }

    /**
     * Opens this replica's copy of a snapshot for reading (a clone's fill, a backup). A block that
     * fails its checksum is repaired from a peer's copy and read again ({@link SnapshotBlockRepair});
     * only a block bad on every copy fails the read. NOT_FOUND when the group never took it (or
     * deleted it), FAILED_PRECONDITION when this replica holds no complete copy. {@code reader}:
     * who reads, for the log of a repair.
     */
    public SnapshotReader open(String volume, String id, String reader) {
        VolumeStateMachine sm = raft.stateMachine(volume);
        SnapshotStatus s = get(volume, id).filter(SnapshotStatus::registered).orElseThrow(() -> new BallastException(
                ErrorCode.NOT_FOUND, "volume " + volume + " has no snapshot " + id));
        if (!s.complete()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "snapshot " + id + " of volume " + volume + " is "
                    + s.note() + " (node " + raft.nodeId() + "); ask a node whose ListSnapshots shows it ready");
        }
        SnapshotReader copy = sm.node().snapshots().open(volume, id);
        return copy.repairingWith(sm.snapshotRepair.forReader(id, copy.info().tag(), reader));
    }

    /** The volume's clone origin, or empty when it was not created from a snapshot. */
    public Optional<CloneOrigin> origin(String volume) {
        return Optional.ofNullable(raft.stateMachine(volume).snapshots.origin());
    }

    /** Records in the volume's log that its fill from {@code source} finished (then {@link #origin} says filled). */
    public void markFilled(String volume, String source) {
        VolumeStateMachine sm = raft.stateMachine(volume);
        RaftClientReply r = send(volume, VolumeLogLayout.filled(source));
        if (VolumeLogLayout.decodeReply(r.getMessage().getContent().asReadOnlyByteBuffer())[0] != ST_OK) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volume + " is not a clone of " + source);
        }
        awaitLocal(sm, r.getLogIndex(), volume);
    }

    private RaftClientReply send(String volume, ByteBuffer entry) {
        try (RaftClient client = raft.newSlowClient(raft.division(volume).getGroup())) {
            RaftClientReply r = client.io().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(entry)));
            BallastException e = RatisErrors.of(r, "volume " + volume);
            if (e != null) {
                throw e;
            }
            return r;
        } catch (IOException e) {
            throw RatisErrors.map(e, "volume " + volume);
        }
    }

    private static void awaitLocal(VolumeStateMachine sm, long index, String volume) {
        try {
            sm.waitApplied(index).get(LOCAL_APPLY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + volume + ": interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + volume + ": this replica did not apply index "
                    + index + " in time", e);
        }
    }
}
