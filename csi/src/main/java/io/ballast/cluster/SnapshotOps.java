package io.ballast.cluster;

import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CreateSnapshotRequest;
import io.ballast.proto.v1.DeleteSnapshotRequest;
import io.ballast.proto.v1.ListSnapshotsRequest;
import io.ballast.proto.v1.SetSnapshotReady;
import io.ballast.replication.catalog.CatalogClient;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots as the controller handles them: recorded in the catalog first (not ready), taken
 * through the volume's log by any node holding a replica (every replica copies its store at that
 * log index), then marked ready. A clone is filled by a node that holds a complete copy of its
 * snapshot (its {@link #seed}); a replica rebuilt after the snapshot has none.
 *
 * <p>Threading: thread-safe (stateless besides its collaborators).
 */
final class SnapshotOps {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotOps.class);
    /** A sparse copy of a large volume on ext4 takes a while on every replica. */
    static final Duration SNAPSHOT_DEADLINE = Duration.ofMinutes(10);

    private final CatalogClient catalog;
    private final NodeAdminClients nodes;
    private final Supplier<ClusterView> views;
    private final LongSupplier clock;

    SnapshotOps(CatalogClient catalog, NodeAdminClients nodes, Supplier<ClusterView> views, LongSupplier clock) {
        this.catalog = catalog;
        this.nodes = nodes;
        this.views = views;
        this.clock = clock;
    }

    SnapshotRecord create(String sourceVolumeId, String name) {
        ClusterView view = views.get();
        Optional<CatalogSnapshot> existing = view.state.getSnapshotsList().stream()
                .filter(s -> s.getName().equals(name)).findFirst();
        if (existing.isPresent() && !existing.get().getSourceVolumeId().equals(sourceVolumeId)) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot " + name + " exists for volume "
                    + existing.get().getSourceVolumeId() + ", not " + sourceVolumeId);
        }
        if (existing.isPresent() && existing.get().getReady()) {
            return ClusterView.record(existing.get());
        }
        String id = existing.map(CatalogSnapshot::getId).orElseGet(() -> VolumeIds.newSnapshotId(name));
        CatalogSnapshot s = catalog.submit(CatalogCommand.newBuilder().setCreateSnapshot(CatalogSnapshot.newBuilder()
                .setId(id).setName(name).setSourceVolumeId(sourceVolumeId).setCreateMillis(clock.getAsLong())).build())
                .getSnapshot();
        CatalogVolume v = view.volume(sourceVolumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "source volume " + sourceVolumeId + " does not exist"));
        CatalogNode via = anyUpReplica(view, v, "snapshot " + name);
        nodes.call(via.getAdminAddress(), SNAPSHOT_DEADLINE, "snapshot " + sourceVolumeId + " on " + via.getNodeId(),
                stub -> stub.createSnapshot(CreateSnapshotRequest.newBuilder().setVolume(sourceVolumeId).setSnapshotId(id).build()));
        s = catalog.submit(CatalogCommand.newBuilder().setSetSnapshotReady(SetSnapshotReady.newBuilder().setSnapshotId(id))
                .build()).getSnapshot();
        LOG.info("snapshot {} ({}) of volume {} taken", id, name, sourceVolumeId);
        return ClusterView.record(s);
    }

    void delete(String snapshotId) {
        ClusterView view = views.get();
        Optional<CatalogSnapshot> s = view.snapshot(snapshotId);
        if (s.isEmpty()) {
            return;
        }
        Optional<CatalogVolume> v = view.volume(s.get().getSourceVolumeId());
        if (v.isPresent()) {
            CatalogNode via = anyUpReplica(view, v.get(), "delete snapshot " + snapshotId);
            nodes.call(via.getAdminAddress(), CatalogClusterBackend.CALL_DEADLINE, "delete snapshot " + snapshotId
                    + " on " + via.getNodeId(), stub -> stub.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                    .setVolume(v.get().getId()).setSnapshotId(snapshotId).build()));
        }
        catalog.submit(CatalogCommand.newBuilder().setDeleteSnapshot(snapshotId).build());
        LOG.info("snapshot {} deleted", snapshotId);
    }

    /**
     * A node that is up and whose replica of the snapshot's volume holds a complete copy of it:
     * the one that fills a clone. UNAVAILABLE when none does right now.
     */
    String seed(ClusterView view, String snapshotId) {
        CatalogSnapshot s = view.snapshot(snapshotId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "source snapshot " + snapshotId + " does not exist"));
        if (!s.getReady()) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "snapshot " + snapshotId + " is still being taken; retry");
        }
        CatalogVolume v = view.volume(s.getSourceVolumeId()).orElseThrow();
        StringBuilder why = new StringBuilder();
        for (String n : v.getPlacementList()) {
            if (!view.up(n)) {
                why.append(n).append(" is down; ");
                continue;
            }
            var list = nodes.call(view.node(n).orElseThrow().getAdminAddress(), CatalogClusterBackend.CALL_DEADLINE,
                    "list snapshots of " + v.getId() + " on " + n,
                    stub -> stub.listSnapshots(ListSnapshotsRequest.newBuilder().setVolume(v.getId()).build()));
            for (var copy : list.getSnapshotsList()) {
                if (copy.getId().equals(snapshotId)) {
                    if (copy.getReady()) {
                        return n;
                    }
                    why.append(n).append(": ").append(copy.getNote()).append("; ");
                }
            }
        }
        throw new BallastException(ErrorCode.UNAVAILABLE, "no node that is up holds a complete copy of snapshot "
                + snapshotId + " (" + why + "); retry when one is back");
    }

    private static CatalogNode anyUpReplica(ClusterView view, CatalogVolume v, String what) {
        return v.getPlacementList().stream().filter(view::up).findFirst().flatMap(view::node)
                .orElseThrow(() -> new BallastException(ErrorCode.UNAVAILABLE, what + ": no node holding a replica of "
                        + v.getId() + " is up; retry when one is back"));
    }
}
