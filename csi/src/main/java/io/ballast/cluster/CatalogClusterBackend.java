package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.proto.v1.BackupTarget;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.DeleteVolumeRequest;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.Publish;
import io.ballast.proto.v1.ResizeVolumeRequest;
import io.ballast.proto.v1.SetReplicas;
import io.ballast.proto.v1.SetVolumeSize;
import io.ballast.proto.v1.SetVolumeState;
import io.ballast.proto.v1.SnapshotSource;
import io.ballast.proto.v1.Unpublish;
import io.ballast.replication.catalog.CatalogClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CSI backend of a real cluster: records in the catalog, replicas on the storage nodes
 * (through their admin APIs). Every multi-step operation records its intent in the catalog first
 * (a volume is CREATING before any replica exists, DELETING before any is removed), so a retry
 * after a crash or timeout resumes it; each node-side step is idempotent.
 *
 * <p>Threading: thread-safe; the CSI layer never runs two mutations on one volume at once.
 */
public final class CatalogClusterBackend implements ClusterBackend {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogClusterBackend.class);
    /** Creating a clone fills it with the source's data: allow minutes. */
    static final Duration CREATE_DEADLINE = Duration.ofMinutes(30);
    static final Duration CALL_DEADLINE = Duration.ofSeconds(60);

    private final CatalogClient catalog;
    private final CatalogClient probe;
    private final NodeAdminClients nodes;
    private final Duration downAfter;
    private final LongSupplier clock;
    private final SnapshotOps snapshotOps;
    private final BackupOps backupOps;

    /**
     * @param catalog commands and reads (long retry budget)
     * @param probe a client with a short retry budget for {@link #ready()}
     * @param downAfter a node whose last heartbeat is older is down
     */
    public CatalogClusterBackend(CatalogClient catalog, CatalogClient probe, NodeAdminClients nodes, Duration downAfter,
            LongSupplier clock) {
        this.catalog = catalog;
        this.probe = probe;
        this.nodes = nodes;
        this.downAfter = downAfter;
        this.clock = clock;
        this.snapshotOps = new SnapshotOps(catalog, nodes, this::view, clock);
        this.backupOps = new BackupOps(snapshotOps, nodes, this::view);
    }

    ClusterView view() {
        return new ClusterView(catalog.read(), clock.getAsLong(), downAfter);
    }

    @Override
    public boolean ready() {
        try {
            probe.read();
            return true;
        } catch (BallastException e) {
            return false;
        }
    }

    @Override
    public List<NodeRecord> nodes() {
        ClusterView v = view();
        return v.state.getNodesList().stream().map(v::record).toList();
    }

    @Override
    public Optional<NodeRecord> node(String nodeId) {
        ClusterView v = view();
        return v.node(nodeId).map(v::record);
    }

    @Override
    public List<VolumeRecord> volumes() {
        ClusterView v = view();
        return v.state.getVolumesList().stream().map(v::record).toList();
    }

    @Override
    public Optional<VolumeRecord> volume(String volumeId) {
        ClusterView v = view();
        return v.volume(volumeId).map(v::record);
    }

    /** Only volumes that finished creating: a CREATING one is resumed by {@link #createVolume}. */
    @Override
    public Optional<VolumeRecord> volumeByName(String name) {
        ClusterView v = view();
        return v.volumeByName(name).filter(x -> x.getState() == CatalogVolumeState.CATALOG_VOLUME_AVAILABLE).map(v::record);
    }

    /**
     * Records the volume (CREATING) with its placement, creates the replica group on the placed
     * nodes, fills it from its source, then marks it AVAILABLE. The same request again resumes an
     * interrupted creation (placement as recorded).
     */
    @Override
    public VolumeRecord createVolume(VolumeSpec spec) {
        return createVolume(spec, null);
    }

    @Override
    public VolumeRecord createVolumeFromBackup(VolumeSpec spec, BackupTarget target) {
        String backupId = BackupOps.backupId(spec.sourceSnapshotId());
        BackupManifest m = backupOps.manifest(backupId, target);
        if (m.getEncrypted() != VolumeEncryption.encrypted(spec.parameters())) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "backup " + backupId + " is " + (m.getEncrypted() ? "" : "not ")
                    + "encrypted; restore it into a volume that is " + (m.getEncrypted() ? "" : "not ") + "(StorageClass "
                    + "parameter " + VolumeEncryption.PARAMETER + ": \"" + m.getEncrypted() + "\")");
        }
        if (spec.sizeBytes() < BackupOps.userBytes(m)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "backup " + backupId + " holds " + BackupOps.userBytes(m)
                    + " bytes; the volume asked for has " + spec.sizeBytes());
        }
        return createVolume(spec, v -> backupOps.restore(v, backupId, target));
    }

    @Override
    public SnapshotRecord backup(String snapshotId, BackupTarget target) {
        return BackupOps.record(backupOps.manifest(BackupOps.backupId(snapshotId), target), snapshotId);
    }

    @Override
    public SnapshotRecord createBackup(String sourceVolumeId, String name, BackupTarget target) {
        return backupOps.create(sourceVolumeId, name, target);
    }

    @Override
    public void deleteBackup(String snapshotId, BackupTarget target) {
        backupOps.delete(BackupOps.backupId(snapshotId), target);
    }

    /** {@code fill}: writes the new volume's content (a restore) before it is AVAILABLE; null for none. */
    private VolumeRecord createVolume(VolumeSpec spec, java.util.function.Consumer<CatalogVolume> fill) {
        ClusterView view = view();
        Optional<CatalogVolume> existing = view.volumeByName(spec.name());
        String id = existing.map(CatalogVolume::getId).orElseGet(() -> VolumeIds.newVolumeId(spec.name()));
        CatalogVolume wanted = CatalogVolume.newBuilder().setId(id).setName(spec.name()).setSizeBytes(spec.sizeBytes())
                .setReplicas(spec.replicas()).putAllParameters(spec.parameters())
                .setSourceSnapshotId(nz(spec.sourceSnapshotId())).setSourceVolumeId(nz(spec.sourceVolumeId()))
                .setCreateMillis(clock.getAsLong()).build();
        if (existing.isPresent() && existing.get().getState() != CatalogVolumeState.CATALOG_VOLUME_CREATING) {
            return view.record(existing.get()); // a retry: the caller checks it is the volume it asked for
        }
        requireEncryptionAsSource(view, spec);
        // a volume clone takes its temporary snapshot here, once; a restore has no snapshot here
        CatalogSnapshot source = fill != null ? null : cloneSource(view, spec, id);
        CatalogVolume v;
        if (existing.isPresent()) {
            // An interrupted creation: resume with the recorded placement (the catalog refuses other parameters).
            v = catalog.submit(CatalogCommand.newBuilder().setCreateVolume(wanted.toBuilder()
                    .addAllPlacement(existing.get().getPlacementList())).build()).getVolume();
            LOG.info("volume {} ({}): resuming its creation on {}", id, spec.name(), v.getPlacementList());
        } else {
            List<String> placement = place(view, spec, source);
            v = catalog.submit(CatalogCommand.newBuilder().setCreateVolume(wanted.toBuilder().addAllPlacement(placement))
                    .build()).getVolume();
            if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_CREATING) {
                throw taken(v); // created meanwhile by a concurrent request
            }
            LOG.info("volume {} ({}): {} bytes, {} replicas placed on {}", id, spec.name(), spec.sizeBytes(),
                    spec.replicas(), placement);
        }
        createReplicas(view, v, source);
        if (fill != null) {
            fill.accept(v);
        }
        CatalogReply available = catalog.submit(CatalogCommand.newBuilder().setSetVolumeState(SetVolumeState.newBuilder()
                .setVolumeId(id).setState(CatalogVolumeState.CATALOG_VOLUME_AVAILABLE)).build());
        if (spec.sourceVolumeId() != null) {
            snapshotOps.delete(source.getId()); // the temporary snapshot of a volume clone
        }
        // The answer from the command's reply and the nodes as read at the start: no second read.
        return view.record(available.getVolume());
    }

    private static BallastException taken(CatalogVolume v) {
        return new BallastException(ErrorCode.ALREADY_EXISTS, "a volume named " + v.getName() + " exists (id "
                + v.getId() + ", " + v.getSizeBytes() + " bytes, " + v.getReplicas() + " replicas)");
    }

    /**
     * Distinct up nodes with room in the requested topology. A clone's first node is its seed: a
     * node holding a complete copy of the source snapshot, which fills the new volume.
     */
    private List<String> place(ClusterView view, VolumeSpec spec, CatalogSnapshot source) {
        if (source == null) {
            return Placement.choose(view.candidates(), spec.replicas(), spec.sizeBytes(), spec.requisite(),
                    spec.preferred(), Set.of(), Set.of());
        }
        if (spec.sourceVolumeId() != null) {
            view = view(); // a volume clone's source snapshot was taken just now
        }
        String seed = snapshotOps.seed(view, source.getId());
        List<Placement.Candidate> seedOnly = view.candidates().stream().filter(c -> c.nodeId().equals(seed)).toList();
        Placement.choose(seedOnly, 1, spec.sizeBytes(), spec.requisite(), List.of(), Set.of(), Set.of()); // fits?
        Set<String> sourceNodes = new HashSet<>(view.volume(source.getSourceVolumeId()).orElseThrow().getPlacementList());
        List<String> placement = new ArrayList<>(List.of(seed));
        placement.addAll(Placement.choose(view.candidates(), spec.replicas() - 1, spec.sizeBytes(), spec.requisite(),
                spec.preferred(), Set.of(seed), sourceNodes));
        return placement;
    }

    /**
     * The snapshot a new volume is filled from: its source snapshot, or for a volume clone a
     * snapshot taken for it (named after the new volume, so a retry finds the same one); null
     * for an empty volume.
     */
    private CatalogSnapshot cloneSource(ClusterView view, VolumeSpec spec, String id) {
        if (spec.sourceSnapshotId() != null) {
            return view.snapshot(spec.sourceSnapshotId()).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                    "source snapshot " + spec.sourceSnapshotId() + " does not exist"));
        }
        if (spec.sourceVolumeId() != null) {
            String sid = snapshotOps.create(spec.sourceVolumeId(), "clone-source-of-" + id).id();
            return view().snapshot(sid).orElseThrow();
        }
        return null;
    }

    /** A clone is encrypted exactly when its source is (checked while the source volume is known). */
    private static void requireEncryptionAsSource(ClusterView view, VolumeSpec spec) {
        String sourceVolume = spec.sourceVolumeId() != null ? spec.sourceVolumeId()
                : spec.sourceSnapshotId() != null ? view.snapshot(spec.sourceSnapshotId()).map(CatalogSnapshot::getSourceVolumeId).orElse(null)
                : null;
        if (sourceVolume != null) {
            view.volume(sourceVolume).ifPresent(src -> VolumeEncryption.requireSameAsSource(spec.parameters(),
                    src.getParametersMap(), "source volume " + sourceVolume));
        }
    }

    private void createReplicas(ClusterView view, CatalogVolume v, CatalogSnapshot source) {
        CreateVolumeRequest.Builder req = CreateVolumeRequest.newBuilder().setName(v.getId())
                .setSizeBytes(VolumeEncryption.replicaBytes(v.getSizeBytes(), v.getParametersMap())).setReplicas(v.getReplicas());
        for (String n : v.getPlacementList()) {
            CatalogNode node = upNode(view, n, "create volume " + v.getId());
            req.addPeers(Peer.newBuilder().setNodeId(n).setRaftAddress(node.getRaftAddress()));
        }
        if (source != null) {
            req.setSource(SnapshotSource.newBuilder().setVolume(source.getSourceVolumeId()).setSnapshotId(source.getId()));
        }
        String driver = v.getPlacement(0); // a clone's seed
        CatalogNode d = upNode(view, driver, "create volume " + v.getId());
        nodes.call(d.getAdminAddress(), CREATE_DEADLINE, "create volume " + v.getId() + " on " + driver,
                s -> s.createVolume(req.build()));
    }

    private static CatalogNode upNode(ClusterView view, String nodeId, String what) {
        if (!view.up(nodeId)) {
            throw new BallastException(ErrorCode.UNAVAILABLE, what + ": node " + nodeId + " is down (no heartbeat for "
                    + view.silentSeconds(nodeId) + " s); retry when it is back");
        }
        return view.node(nodeId).orElseThrow();
    }

    /**
     * Refused while published or with snapshots; then DELETING, every replica's node deletes its
     * replica, and the record goes. A replica on a node that is down stays on its disk (logged).
     */
    @Override
    public void deleteVolume(String volumeId) {
        ClusterView view = view();
        Optional<CatalogVolume> found = view.volume(volumeId);
        if (found.isEmpty()) {
            return;
        }
        CatalogVolume v = found.get();
        if (v.getAttachmentsCount() > 0) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " is published on node "
                    + v.getAttachments(0).getNodeId() + "; unpublish it first");
        }
        for (CatalogSnapshot s : view.state.getSnapshotsList()) {
            if (s.getSourceVolumeId().equals(volumeId) && s.getName().startsWith(BackupOps.BASE_PREFIX)) {
                snapshotOps.delete(s.getId()); // a backup's base, ours alone: the next backup is then full
            } else if (s.getSourceVolumeId().equals(volumeId)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " has snapshot "
                        + s.getName() + "; delete its snapshots first");
            }
        }
        catalog.submit(CatalogCommand.newBuilder().setSetVolumeState(SetVolumeState.newBuilder().setVolumeId(volumeId)
                .setState(CatalogVolumeState.CATALOG_VOLUME_DELETING)).build());
        List<Runnable> deletes = new ArrayList<>();
        for (String n : v.getPlacementList()) {
            if (!view.up(n)) {
                LOG.warn("volume {}: node {} is down; its replica stays on its disk until it is wiped", volumeId, n);
                continue;
            }
            CatalogNode node = view.node(n).orElseThrow();
            deletes.add(() -> nodes.call(node.getAdminAddress(), CALL_DEADLINE, "delete the replica of " + volumeId + " on " + n,
                    s -> s.deleteVolume(DeleteVolumeRequest.newBuilder().setName(volumeId).build())));
        }
        NodeAdminClients.allAtOnce(deletes);
        catalog.submit(CatalogCommand.newBuilder().setDeleteVolume(volumeId).build());
        LOG.info("volume {} ({}) deleted", volumeId, v.getName());
    }

    @Override
    public VolumeRecord expandVolume(String volumeId, long sizeBytes) {
        ClusterView view = view();
        CatalogVolume v = view.volume(volumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "volume " + volumeId + " does not exist"));
        long size = (sizeBytes + 4095) / 4096 * 4096;
        if (size > v.getSizeBytes()) {
            long replicaBytes = VolumeEncryption.replicaBytes(size, v.getParametersMap());
            String via = v.getPlacementList().stream().filter(view::up).findFirst().orElseThrow(() -> new BallastException(
                    ErrorCode.UNAVAILABLE, "no replica of " + volumeId + " is on a node that is up"));
            nodes.call(view.node(via).orElseThrow().getAdminAddress(), CALL_DEADLINE, "resize " + volumeId + " on " + via,
                    s -> s.resizeVolume(ResizeVolumeRequest.newBuilder().setName(volumeId)
                            .setSizeBytes(replicaBytes).build()));
            v = catalog.submit(CatalogCommand.newBuilder().setSetVolumeSize(SetVolumeSize.newBuilder()
                    .setVolumeId(volumeId).setSizeBytes(size)).build()).getVolume();
            LOG.info("volume {} grown to {} bytes", volumeId, size);
        }
        return view().record(v);
    }

    @Override
    public VolumeRecord setReplicas(String volumeId, int replicas) {
        ClusterView view = view();
        CatalogVolume v = view.volume(volumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "volume " + volumeId + " does not exist"));
        int more = replicas - v.getPlacementCount();
        if (more > 0) { // fails now, naming what is missing, rather than leave the repair loop waiting for ever
            Placement.choose(view.candidates(), more, v.getSizeBytes(), List.of(), List.of(),
                    new HashSet<>(v.getPlacementList()), Set.of());
        }
        CatalogReply r = catalog.submit(CatalogCommand.newBuilder().setSetReplicas(SetReplicas.newBuilder()
                .setVolumeId(volumeId).setReplicas(replicas)).build());
        if (!r.getExisted()) {
            LOG.info("volume {}: replica count {} -> {} asked; the repair loop adds or removes replicas", volumeId,
                    v.getReplicas(), replicas);
        }
        return view().record(r.getVolume());
    }

    @Override
    public VolumeRecord publish(String volumeId, String nodeId, boolean readonly, boolean exclusive) {
        CatalogVolume v = catalog.submit(CatalogCommand.newBuilder().setPublish(Publish.newBuilder().setVolumeId(volumeId)
                .setAttachment(io.ballast.proto.v1.CatalogAttachment.newBuilder().setNodeId(nodeId).setReadonly(readonly)
                        .setExclusive(exclusive))).build()).getVolume();
        return view().record(v);
    }

    @Override
    public void unpublish(String volumeId, String nodeId) {
        try {
            catalog.submit(CatalogCommand.newBuilder().setUnpublish(Unpublish.newBuilder().setVolumeId(volumeId)
                    .setNodeId(nz(nodeId))).build());
        } catch (BallastException e) {
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e;
            }
        }
    }

    @Override
    public List<SnapshotRecord> snapshots() {
        return view().state.getSnapshotsList().stream().map(ClusterView::record).toList();
    }

    @Override
    public Optional<SnapshotRecord> snapshot(String snapshotId) {
        return view().snapshot(snapshotId).map(ClusterView::record);
    }

    @Override
    public Optional<SnapshotRecord> snapshotByName(String name) {
        return view().state.getSnapshotsList().stream().filter(s -> s.getName().equals(name)).findFirst()
                .map(ClusterView::record);
    }

    @Override
    public SnapshotRecord createSnapshot(String sourceVolumeId, String name) {
        return snapshotOps.create(sourceVolumeId, name);
    }

    @Override
    public void deleteSnapshot(String snapshotId) {
        snapshotOps.delete(snapshotId);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
