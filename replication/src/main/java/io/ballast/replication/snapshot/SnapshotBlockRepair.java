package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.rebuild.BlockRepairer;
import io.ballast.replication.rebuild.LocalReplica;
import io.ballast.replication.rebuild.PeerQuery;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites a block of this replica's snapshot copy that failed its checksum with a peer's copy of
 * the same snapshot (asked with QUERY_SNAPSHOT_READ at the snapshot's index; the peer's reader
 * verifies what it sends). A snapshot never changes, so unlike a volume block no applied index has
 * to be compared: the index the snapshot was taken at names the bytes. Used by the scrub of the
 * copies and by the readers a clone's fill and a backup open ({@link #forReader}).
 */
public final class SnapshotBlockRepair {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotBlockRepair.class);
    private static final int B = LocalBlockStore.BLOCK_SIZE;

    private final LocalReplica replica;
    private final ReplicaSnapshots snapshots;

    public SnapshotBlockRepair(LocalReplica replica, ReplicaSnapshots snapshots) {
        this.replica = replica;
        this.snapshots = snapshots;
    }

    /**
     * Repairs {@code block} of snapshot {@code id} taken at {@code index} from the first peer (the
     * leader first) whose copy is good; false when none is. {@code cause}: who noticed, for the log.
     */
    public boolean repair(RaftClient client, String id, long index, long block, String cause) {
        String volume = replica.volumeName();
        List<String> refusals = new ArrayList<>();
        for (RaftPeerId peer : PeerQuery.peersLeaderFirst(replica)) {
            try {
                ByteBuffer good = PeerQuery.ask(client, peer, VolumeLogLayout.querySnapshotRead(id, index, block * B, B,
                        (byte) 0), "snapshot repair query");
                if (good.remaining() != B) {
                    throw new BallastException(ErrorCode.INTERNAL, "returned " + good.remaining() + " bytes for one block");
                }
                snapshots.files().repairBlock(volume, id, index, block, good);
                LOG.warn("volume {}: block {} of snapshot {} failed its checksum ({}); repaired from {}", volume, block, id,
                        cause, peer);
                return true;
            } catch (BallastException e) {
                refusals.add(peer + ": " + e.code() + " " + e.getMessage());
            }
        }
        LOG.error("volume {}: block {} of snapshot {} fails its checksum ({}) and cannot be repaired: {}", volume, block,
                id, cause, refusals.isEmpty() ? "no peers" : refusals);
        return false;
    }

    /**
     * The repair a reader of this replica's copy of snapshot {@code id} (taken at {@code index})
     * calls on a bad block, {@code cause} naming the reader: a client of its own per bad block (rare;
     * the reader may live for an hour of backup upload), closed after.
     */
    public SnapshotReader.BadBlockRepair forReader(String id, long index, String cause) {
        return block -> {
            RaftClient client = null;
            try {
                client = PeerQuery.newClient(replica);
                return repair(client, id, index, block, cause);
            } catch (RuntimeException e) {
                LOG.error("volume {}: block {} of snapshot {} fails its checksum ({}); its repair failed: {}",
                        replica.volumeName(), block, id, cause, e.toString());
                return false;
            } finally {
                if (client != null) {
                    BlockRepairer.closeQuietly(client);
                }
            }
        };
    }
}
