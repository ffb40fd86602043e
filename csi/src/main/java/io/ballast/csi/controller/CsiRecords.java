package io.ballast.csi.controller;

import com.google.protobuf.Timestamp;
import io.ballast.csi.Topologies;
import io.ballast.cluster.ClusterBackend.Attachment;
import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.proto.csi.v1.Snapshot;
import io.ballast.proto.csi.v1.Volume;
import io.ballast.proto.csi.v1.VolumeCondition;
import io.ballast.proto.csi.v1.VolumeContentSource;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Catalog records as CSI messages, in one place so CreateVolume, ListVolumes and ControllerGetVolume
 * describe a volume identically (the CO compares them). Stateless, thread-safe.
 */
final class CsiRecords {
    private CsiRecords() {
    }

    /**
     * The CSI volume: size, id, context (its canonical parameters), content source, and accessible
     * topology = every node of the cluster (see {@link Topologies}).
     */
    static Volume volume(VolumeRecord v, String clusterId) {
        Volume.Builder b = Volume.newBuilder().setVolumeId(v.id()).setCapacityBytes(v.sizeBytes())
                .putAllVolumeContext(v.parameters());
        VolumeContentSource source = contentSource(v);
        if (source != null) {
            b.setContentSource(source);
        }
        return b.addAccessibleTopology(Topologies.clusterSegment(clusterId)).build();
    }

    /** The volume's content source, or null when it was created empty. */
    static VolumeContentSource contentSource(VolumeRecord v) {
        if (present(v.sourceSnapshotId())) {
            return VolumeContentSource.newBuilder()
                    .setSnapshot(VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(v.sourceSnapshotId())).build();
        }
        if (present(v.sourceVolumeId())) {
            return VolumeContentSource.newBuilder()
                    .setVolume(VolumeContentSource.VolumeSource.newBuilder().setVolumeId(v.sourceVolumeId())).build();
        }
        return null;
    }

    static List<String> publishedNodeIds(VolumeRecord v) {
        return v.attachments().stream().map(Attachment::nodeId).toList();
    }

    static VolumeCondition condition(VolumeRecord v) {
        String message = v.condition() == null || v.condition().isEmpty()
                ? (v.abnormal() ? "volume is degraded" : "healthy") : v.condition();
        return VolumeCondition.newBuilder().setAbnormal(v.abnormal()).setMessage(message).build();
    }

    static Snapshot snapshot(SnapshotRecord s) {
        long millis = s.creationTimeMillis();
        return Snapshot.newBuilder().setSnapshotId(s.id()).setSourceVolumeId(s.sourceVolumeId())
                .setSizeBytes(s.sizeBytes()).setReadyToUse(s.readyToUse())
                .setCreationTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(millis, 1000))
                        .setNanos(Math.floorMod(millis, 1000) * 1_000_000))
                .build();
    }

    static boolean present(String s) {
        return s != null && !s.isEmpty();
    }
}
