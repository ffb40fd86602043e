package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.rebuild.LocalReplica;
import io.ballast.replication.rebuild.RatePacer;
import io.ballast.replication.rebuild.ScrubExtension;
import io.ballast.replication.snapshot.SnapshotRegistry.Registered;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.client.RaftClient;

/**
 * The scrub of a replica's snapshot copies (invariant 4 for snapshots): every data block of each
 * complete copy is checked against its checksum, and a bad one is rewritten from a peer's copy of
 * the same snapshot ({@link SnapshotBlockRepair}). Without this, a copy that rotted was found only
 * when a clone or a backup read it. Threading: the scrub's thread.
 */
public final class SnapshotCopyScrub implements ScrubExtension {
    private static final int B = LocalBlockStore.BLOCK_SIZE;
    /** 8 MiB of blocks per verify step, as the volume's scrub. */
    private static final long STEP_BLOCKS = 2048;

    private final LocalReplica replica;
    private final ReplicaSnapshots snapshots;
    private final SnapshotBlockRepair repair;

    public SnapshotCopyScrub(LocalReplica replica, ReplicaSnapshots snapshots, SnapshotBlockRepair repair) {
        this.replica = replica;
        this.snapshots = snapshots;
        this.repair = repair;
    }

    @Override
    public Found scrub(RaftClient client, RatePacer pacer) throws InterruptedException {
        String volume = replica.volumeName();
        long corrupt = 0;
        long repaired = 0;
        long left = 0;
        for (Registered r : snapshots.held(volume)) {
            List<Long> bad = new ArrayList<>();
            try (SnapshotReader copy = snapshots.openCopy(volume, r.id(), r.index())) {
                long blocks = copy.size() / B;
                for (long b = 0; b < blocks; b += STEP_BLOCKS) {
                    long end = Math.min(b + STEP_BLOCKS, blocks);
                    pacer.take((end - b) * B);
                    bad.addAll(copy.verify(b, end));
                }
            } catch (BallastException e) {
                if (e.code() == ErrorCode.NOT_FOUND) {
                    continue; // deleted since the list
                }
                throw e;
            }
            for (long block : bad) {
                corrupt++;
                if (repair.repair(client, r.id(), r.index(), block, "scrub")) {
                    repaired++;
                } else {
                    left++;
                }
            }
        }
        return new Found(corrupt, repaired, left);
    }
}
