package io.ballast.replication.statemachine;

import static io.ballast.replication.entry.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.VolumeSnapshots;
import io.ballast.replication.entry.BlockOps;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.snapshot.ReplicaSnapshots;
import io.ballast.replication.space.SpaceGuard;
import java.util.ArrayList;
import java.util.List;

/**
 * The leader's checks before an entry is appended ({@link VolumeStateMachine#startTransaction}): a
 * refused request never enters the log. Sizes and ranges, the writer epoch (an ATTACH must raise it,
 * OPS must carry the current one: the early fence on the leader; apply re-checks it), the snapshot
 * names, and room on the members' disks for entries that take space.
 */
final class EntryAdmission {
    private final VolumeStateMachine replica;
    /** Refuses writes on this leader when its disk or a majority of the group's are full. */
    private final SpaceGuard space;
    /** Highest ATTACH epoch admitted here (guarded by this). */
    private long admittedEpoch;

    EntryAdmission(VolumeStateMachine replica, SpaceGuard space) {
        this.replica = replica;
        this.space = space;
    }

    void check(Entry e) {
        switch (e.kind()) {
            case KIND_CREATE, KIND_CREATE_CLONE -> {
                if (e.kind() == KIND_CREATE_CLONE) {
                    ReplicaSnapshots.checkSource(e.source());
                }
                if (!VolumeStateMachine.groupIdOf(e.name()).equals(replica.getGroupId())) {
                    throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume " + e.name() + " is not group " + replica.getGroupId());
                }
                if (e.size() <= 0 || e.size() % LocalBlockStore.BLOCK_SIZE != 0 || e.size() > LocalBlockStore.MAX_SIZE) {
                    throw new BallastException(ErrorCode.OUT_OF_RANGE, "bad volume size " + e.size());
                }
            }
            case KIND_ATTACH -> {
                synchronized (this) {
                    long current = Math.max(replica.epoch(), admittedEpoch);
                    if (e.epoch() <= current) {
                        throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                                "writer epoch " + e.epoch() + " is not above the volume's epoch " + current);
                    }
                    admittedEpoch = e.epoch();
                }
            }
            case KIND_OPS -> {
                long current;
                synchronized (this) {
                    current = Math.max(replica.epoch(), admittedEpoch);
                }
                if (e.epoch() != current) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "fenced: writer epoch " + e.epoch()
                            + (e.epoch() < current ? " was superseded by " : " is not attached; current is ") + current);
                }
                long size = replica.store().size();
                boolean takesSpace = false;
                for (Op op : e.ops()) {
                    BlockOps.checkRange(op, size);
                    takesSpace |= op.type() == VolumeLogLayout.OP_WRITE || op.type() == VolumeLogLayout.OP_ZEROES;
                }
                if (takesSpace) {
                    refuseWhenFull();
                }
            }
            case KIND_SNAPSHOT -> {
                replica.store(); // FAILED_PRECONDITION before the volume's CREATE applied here
                replica.snapshots.checkNew(replica.volumeName(), e.name());
            }
            case KIND_DELETE_SNAPSHOT -> VolumeSnapshots.checkId(e.name());
            case KIND_FILLED -> replica.snapshots.checkFilled(replica.volumeName(), e.source());
            default -> throw new BallastException(ErrorCode.INVALID_ARGUMENT, "entry kind " + e.kind() + " is not a transaction");
        }
    }

    /**
     * Refuses a write entry on a full disk ({@link SpaceGuard}): NO_SPACE when a majority of the
     * members are full, UNAVAILABLE while only this leader is. Trims and flushes are not checked
     * (they free space or need none), so a filesystem above can delete files and discard their
     * blocks to make room.
     */
    private void refuseWhenFull() {
        if (!space.anyFull()) {
            return; // the common case, on every write entry: no member list to build
        }
        List<String> members = new ArrayList<>();
        replica.division().getRaftConf().getCurrentPeers().forEach(p -> members.add(p.getId().toString()));
        SpaceGuard.Refusal no = space.refusal(members);
        if (no != null && no.moveLeadership()) {
            // UNAVAILABLE: the client retries while LeaderHandoff moves the leadership.
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + replica.volumeName() + ": " + no.why());
        }
        if (no != null) {
            throw new BallastException(ErrorCode.NO_SPACE, "volume " + replica.volumeName() + " takes no writes now: " + no.why()
                    + "; free space there (trims still pass), or raise --full-ratio");
        }
    }
}
