package io.ballast.admin;

import com.google.protobuf.Timestamp;
import io.ballast.proto.v1.CloneStatus;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.ReplicaIntegrity;
import io.ballast.proto.v1.ReplicaStatus;
import io.ballast.proto.v1.Snapshot;
import io.ballast.proto.v1.SnapshotSource;
import io.ballast.proto.v1.Volume;
import io.ballast.proto.v1.VolumeState;
import io.ballast.replication.GroupStatus;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.rebuild.IntegrityStatus;
import io.ballast.replication.snapshot.CloneFill;
import io.ballast.replication.snapshot.SnapshotStatus;
import io.ballast.volumes.ReplicatedVolumes;

/**
 * The admin API's view of a volume and its snapshots on this node, built from the replica's group
 * status, its integrity counters, a clone's fill progress and the local attachment.
 */
final class VolumeDescriptions {
    private final ReplicatedVolumes volumes;

    VolumeDescriptions(ReplicatedVolumes volumes) {
        this.volumes = volumes;
    }

    /** What this node knows of volume {@code name}: its replica (or its diskless frontend), clone fill and attachment. */
    Volume volume(String name) {
        ReplicatedBlockVolume attached = volumes.attachedVolume(name);
        if (attached != null && attached.diskless()) {
            // No replica here: what this node knows is its frontend (the group lives elsewhere).
            Volume.Builder b = Volume.newBuilder().setName(name).setSizeBytes(attached.size())
                    .setState(VolumeState.VOLUME_STATE_AVAILABLE);
            return (attached.fenced() ? b.setFencedNodeId(volumes.nodeId()) : b.setAttachedNodeId(volumes.nodeId())).build();
        }
        GroupStatus s = volumes.status(name);
        IntegrityStatus i = s.integrity();
        Volume.Builder b = Volume.newBuilder().setName(name)
                .setState(s.leaderId() == null || !i.healthy() ? VolumeState.VOLUME_STATE_DEGRADED : VolumeState.VOLUME_STATE_AVAILABLE)
                .setIntegrity(ReplicaIntegrity.newBuilder().setCorruptBlocksFound(i.corruptBlocksFound())
                        .setBlocksRepaired(i.blocksRepaired()).setUnrepairableFound(i.unrepairableFound())
                        .setUnrepairableBlocks(i.unrepairableBlocks()).setCondition(i.condition())
                        .setScrubRunning(i.scrubRunning()).setScrubBytesDone(i.scrubBytesDone())
                        .setScrubBytesTotal(i.scrubBytesTotal()).setScrubsCompleted(i.scrubsCompleted())
                        .setLastScrubCompletedUnixMs(i.lastScrubCompletedMillis()))
                .setLeaderNodeId(s.leaderId() == null ? "" : s.leaderId())
                .addReplicaStatus(ReplicaStatus.newBuilder().setNodeId(volumes.nodeId()).setRole(s.role())
                        .setCommitIndex(s.commitIndex()).setAppliedIndex(s.appliedIndex())
                        .setRebuildBytesDone(s.rebuildBytesDone()).setRebuildBytesTotal(s.rebuildBytesTotal()))
                .setReplicas(s.members().size());
        s.members().forEach((id, addr) -> b.addMembers(Peer.newBuilder().setNodeId(id).setRaftAddress(addr)));
        volumes.origin(name).ifPresent(o -> {
            int at = o.source().indexOf('@');
            CloneStatus.Builder c = CloneStatus.newBuilder().setFilled(o.filled()).setSource(SnapshotSource.newBuilder()
                    .setVolume(o.source().substring(0, at)).setSnapshotId(o.source().substring(at + 1)));
            CloneFill.Progress p = volumes.fillProgress(name);
            if (p != null) {
                c.setBytesDone(p.bytesDone.get()).setBytesTotal(p.bytesTotal.get());
            }
            b.setClone(c);
        });
        if (attached != null) {
            b.setSizeBytes(attached.size());
            if (attached.fenced()) {
                b.setFencedNodeId(volumes.nodeId());
            } else {
                b.setAttachedNodeId(volumes.nodeId());
            }
        }
        return b.build();
    }

    /** A snapshot of a replica on this node, as the admin API reports it. */
    Snapshot snapshot(SnapshotStatus s) {
        return Snapshot.newBuilder().setId(s.id()).setVolume(s.volume()).setSizeBytes(s.sizeBytes())
                .setCreateTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(s.createdMillis(), 1000))
                        .setNanos((int) Math.floorMod(s.createdMillis(), 1000) * 1_000_000)).setReady(s.complete())
                .setNodeId(volumes.nodeId()).setLogIndex(Math.max(0, s.logIndex())).setNote(s.note()).build();
    }
}
