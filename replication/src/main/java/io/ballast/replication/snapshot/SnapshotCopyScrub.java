package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.rebuild.LocalReplica;
import io.ballast.replication.rebuild.PeerQuery;
import io.ballast.replication.rebuild.RatePacer;
import io.ballast.replication.rebuild.ScrubExtension;
import io.ballast.replication.snapshot.SnapshotRegistry.Registered;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scrub of a replica's snapshot copies (invariant 4 for snapshots): every data block of each
 * complete copy is checked against its checksum, and a bad one is rewritten from a peer's copy of
 * the same snapshot (asked with QUERY_SNAPSHOT_READ at the snapshot's index; the peer's reader
 * vouches for it). A snapshot never changes, so unlike a volume block, no applied index has to be
 * compared: the index the snapshot was taken at names the bytes. Without this, a copy that rotted
 * was found only when a clone or a backup read it, and failed them. Threading: the scrub's thread.
 */
public final class SnapshotCopyScrub implements ScrubExtension {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotCopyScrub.class);
    private static final int B = LocalBlockStore.BLOCK_SIZE;
    /** 8 MiB of blocks per verify step, as the volume's scrub. */
    private static final long STEP_BLOCKS = 2048;

    private final LocalReplica replica;
    private final ReplicaSnapshots snapshots;

    public SnapshotCopyScrub(LocalReplica replica, ReplicaSnapshots snapshots) {
        this.replica = replica;
        this.snapshots = snapshots;
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
                if (repair(client, r, block)) {
                    repaired++;
                } else {
                    left++;
                }
            }
        }
        return new Found(corrupt, repaired, left);
    }

    private boolean repair(RaftClient client, Registered r, long block) {
        String volume = replica.volumeName();
        List<String> refusals = new ArrayList<>();
        for (RaftPeerId peer : PeerQuery.peersLeaderFirst(replica)) {
            try {
                ByteBuffer good = PeerQuery.ask(client, peer, VolumeLogLayout.querySnapshotRead(r.id(), r.index(), block * B, B,
                        (byte) 0), "snapshot repair query");
                if (good.remaining() != B) {
                    throw new BallastException(ErrorCode.INTERNAL, "returned " + good.remaining() + " bytes for one block");
                }
                snapshots.files().repairBlock(volume, r.id(), r.index(), block, good);
                LOG.warn("volume {}: block {} of snapshot {} failed its checksum (scrub); repaired from {}", volume, block,
                        r.id(), peer);
                return true;
            } catch (BallastException e) {
                refusals.add(peer + ": " + e.code() + " " + e.getMessage());
            }
        }
        LOG.error("volume {}: block {} of snapshot {} fails its checksum (scrub) and cannot be repaired: {}", volume, block,
                r.id(), refusals.isEmpty() ? "no peers" : refusals);
        return false;
    }
}
