package io.ballast.cluster;

import io.ballast.cluster.ClusterBackend.Attachment;
import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.NodeDrain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One read of the catalog seen at one instant: which nodes are up (heartbeat younger than
 * {@code downAfter}), how much room each has for new replicas, and the records in the CSI
 * backend's terms, with each volume's condition derived from its replicas' nodes.
 */
final class ClusterView {
    // Not thread-safe (lazily computed candidates): one view serves one operation or one scrape.
    final CatalogState state;
    private final long nowMillis;
    private final Duration downAfter;
    private final Map<String, CatalogNode> nodes = new HashMap<>();

    ClusterView(CatalogState state, long nowMillis, Duration downAfter) {
        this.state = state;
        this.nowMillis = nowMillis;
        this.downAfter = downAfter;
        state.getNodesList().forEach(n -> nodes.put(n.getNodeId(), n));
    }

    boolean up(String nodeId) {
        CatalogNode n = nodes.get(nodeId);
        return n != null && nowMillis - n.getHeartbeatMillis() < downAfter.toMillis();
    }

    /** How long the node has been silent, in seconds (for messages). */
    long silentSeconds(String nodeId) {
        CatalogNode n = nodes.get(nodeId);
        return n == null ? -1 : (nowMillis - n.getHeartbeatMillis()) / 1000;
    }

    /** The up node whose last heartbeat says it leads the volume's group, if any. */
    Optional<String> leaderOf(String volumeId) {
        return nodes.values().stream().filter(n -> up(n.getNodeId()) && n.getLeadingList().contains(volumeId))
                .map(CatalogNode::getNodeId).findFirst();
    }

    Optional<CatalogNode> node(String nodeId) {
        return Optional.ofNullable(nodes.get(nodeId));
    }

    private List<Placement.Candidate> candidates;

    /**
     * Placement candidates: available = min(free disk, capacity) less what lies above the node's full
     * ratio (writes are refused there), and less the {@link ReplicaFootprint} of every replica placed
     * on it (thick: a replica not written yet will be).
     */
    List<Placement.Candidate> candidates() {
        if (candidates == null) {
            candidates = computeCandidates();
        }
        return candidates;
    }

    private List<Placement.Candidate> computeCandidates() {
        Map<String, Long> provisioned = new HashMap<>();
        for (CatalogVolume v : state.getVolumesList()) {
            for (String n : v.getPlacementList()) {
                provisioned.merge(n, ReplicaFootprint.bytes(v.getSizeBytes()), Long::sum);
            }
        }
        List<Placement.Candidate> out = new ArrayList<>();
        for (CatalogNode n : state.getNodesList()) {
            if (n.getDrain() != NodeDrain.NODE_DRAIN_NONE) {
                continue; // in maintenance: no new replica goes there
            }
            double full = n.getFullRatio() > 0 && n.getFullRatio() < 1 ? n.getFullRatio() : 1.0; // 0: an older node
            long aboveFull = (long) Math.ceil(n.getCapacityBytes() * (1 - full));
            long available = Math.min(n.getFreeBytes(), n.getCapacityBytes() - provisioned.getOrDefault(n.getNodeId(), 0L))
                    - aboveFull;
            out.add(new Placement.Candidate(n.getNodeId(), n.getLabelsMap(), up(n.getNodeId()), Math.max(0, available)));
        }
        return List.copyOf(out);
    }

    /** Whether an operator asked for {@code nodeId}'s replicas to be re-created elsewhere. */
    boolean evacuating(String nodeId) {
        return node(nodeId).map(n -> n.getDrain() == NodeDrain.NODE_DRAIN_EVACUATE).orElse(false);
    }

    Optional<CatalogVolume> volume(String id) {
        return state.getVolumesList().stream().filter(v -> v.getId().equals(id)).findFirst();
    }

    Optional<CatalogVolume> volumeByName(String name) {
        return state.getVolumesList().stream().filter(v -> v.getName().equals(name)).findFirst();
    }

    Optional<CatalogSnapshot> snapshot(String id) {
        return state.getSnapshotsList().stream().filter(s -> s.getId().equals(id)).findFirst();
    }

    /**
     * The node for the CSI layer; its free bytes are what placement may still use (thick
     * accounting, see {@link #candidates}), so GetCapacity and placement agree.
     */
    NodeRecord record(CatalogNode n) {
        long available = candidates().stream().filter(c -> c.nodeId().equals(n.getNodeId()))
                .mapToLong(Placement.Candidate::availableBytes).findFirst().orElse(0);
        return new NodeRecord(n.getNodeId(), n.getAdminAddress(), n.getRaftAddress(), n.getLabelsMap(),
                n.getCapacityBytes(), available, up(n.getNodeId()), n.getHeartbeatMillis());
    }

    VolumeRecord record(CatalogVolume v) {
        List<String> problems = new ArrayList<>();
        if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
            problems.add(v.getState() == CatalogVolumeState.CATALOG_VOLUME_CREATING ? "being created" : "being deleted");
        }
        for (String n : v.getPlacementList()) {
            if (!up(n)) {
                problems.add("replica on node " + n + " unreachable (no heartbeat for "
                        + silentSeconds(n) + " s)");
            } else {
                String degraded = nodes.get(n).getDegradedReplicasMap().get(v.getId());
                if (degraded != null) {
                    problems.add("replica on node " + n + " " + degraded);
                }
            }
        }
        if (v.getPlacementCount() != v.getReplicas()) {
            problems.add(v.getPlacementCount() + " of " + v.getReplicas() + " replicas placed"
                    + (v.getPlacementCount() > v.getReplicas() ? " (removing)" : ""));
        }
        if (!v.getRepair().isEmpty()) {
            problems.add("repair: " + v.getRepair());
        }
        List<Attachment> attachments = v.getAttachmentsList().stream()
                .map(a -> new Attachment(a.getNodeId(), a.getReadonly(), a.getExclusive())).toList();
        return new VolumeRecord(v.getId(), v.getName(), v.getSizeBytes(), v.getReplicas(), v.getPlacementList(),
                v.getParametersMap(), emptyToNull(v.getSourceSnapshotId()), emptyToNull(v.getSourceVolumeId()),
                attachments, !problems.isEmpty(), problems.isEmpty() ? "healthy" : String.join("; ", problems));
    }

    static SnapshotRecord record(CatalogSnapshot s) {
        return new SnapshotRecord(s.getId(), s.getName(), s.getSourceVolumeId(), s.getSizeBytes(), s.getCreateMillis(), s.getReady());
    }

    private static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }
}
