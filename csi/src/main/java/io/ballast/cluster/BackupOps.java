package io.ballast.cluster;

import io.ballast.backup.BackupBucket;
import io.ballast.backup.BackupRepository;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.engine.crypt.KeyHeaderLayout;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.proto.v1.BackupProgress;
import io.ballast.proto.v1.BackupTarget;
import io.ballast.proto.v1.BackupVolumeRequest;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.RestoreVolumeRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Iterator;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backups as the controller makes them (a VolumeSnapshotClass with {@code type: backup}): a
 * snapshot of the volume (kept as the next backup's base, named {@value #BASE_PREFIX}...), its
 * upload by a node holding a complete copy, incremental from the volume's newest backup in the
 * bucket; the previous base snapshot goes once the new backup is done. A backup is a CSI snapshot
 * whose id is {@value #ID_PREFIX} + the backup id, so a PVC restores it anywhere the bucket is
 * reachable, also in another cluster. Calls are synchronous (retried by the sidecars; an
 * interrupted upload or restore resumes).
 */
final class BackupOps {
    private static final Logger LOG = LoggerFactory.getLogger(BackupOps.class);
    static final String ID_PREFIX = io.ballast.replication.catalog.Catalog.BACKUP_SOURCE_PREFIX;
    static final String BASE_PREFIX = "backup-base-";
    private static final Duration DEADLINE = Duration.ofHours(6);

    private final SnapshotOps snapshots;
    private final NodeAdminClients nodes;
    private final Supplier<ClusterView> views;

    BackupOps(SnapshotOps snapshots, NodeAdminClients nodes, Supplier<ClusterView> views) {
        this.snapshots = snapshots;
        this.nodes = nodes;
        this.views = views;
    }

    static boolean isBackup(String snapshotId) {
        return snapshotId != null && snapshotId.startsWith(ID_PREFIX);
    }

    static String backupId(String snapshotId) {
        return snapshotId.substring(ID_PREFIX.length());
    }

    SnapshotRecord create(String sourceVolumeId, String name, BackupTarget target) {
        String backupId = name;
        BackupRepository.checkId(backupId);
        CatalogVolume volume = views.get().volume(sourceVolumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "source volume " + sourceVolumeId + " does not exist"));
        BackupManifest base;
        try (BackupBucket bucket = new BackupBucket(target)) {
            BackupRepository repo = new BackupRepository(bucket);
            var existing = repo.get(backupId);
            if (existing.isPresent()) {
                if (!existing.get().getVolume().equals(sourceVolumeId)) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "backup " + backupId + " in " + bucket.describe()
                            + " is of volume " + existing.get().getVolume() + ", not " + sourceVolumeId);
                }
                return record(existing.get(), name);
            }
            base = repo.list().stream().filter(m -> m.getVolume().equals(sourceVolumeId))
                    .max(Comparator.comparingLong(BackupManifest::getCreatedMillis)).orElse(null);
        }
        SnapshotRecord snap = snapshots.create(sourceVolumeId, BASE_PREFIX + backupId);
        ClusterView view = views.get();
        String seed = snapshots.seed(view, snap.id());
        CatalogNode node = view.node(seed).orElseThrow();
        BackupVolumeRequest req = BackupVolumeRequest.newBuilder().setVolume(volume.getId()).setSnapshotId(snap.id())
                .setTarget(target).setBackupId(backupId).setBaseBackupId(base == null ? "" : base.getBackupId()).build();
        BackupManifest m = nodes.call(node.getAdminAddress(), DEADLINE, "back " + sourceVolumeId + " up on " + seed,
                stub -> last(stub.backupVolume(req))).getManifest();
        LOG.info("backup {} of volume {} done on {}: {} bytes, {} uploaded{}", backupId, sourceVolumeId, seed,
                m.getSizeBytes(), m.getUploadedBytes(), base == null ? " (full)" : " (incremental from " + base.getBackupId() + ")");
        for (CatalogSnapshot s : views.get().state.getSnapshotsList()) {
            if (s.getSourceVolumeId().equals(sourceVolumeId) && s.getName().startsWith(BASE_PREFIX) && !s.getId().equals(snap.id())) {
                snapshots.delete(s.getId()); // an older backup's base: the new one builds on this snapshot
            }
        }
        return record(m, name);
    }

    void delete(String backupId, BackupTarget target) {
        try (BackupBucket bucket = new BackupBucket(target)) {
            BackupRepository.Deleted d = new BackupRepository(bucket).delete(backupId, Instant.now());
            LOG.info("backup {} deleted from {} ({})", backupId, bucket.describe(), d.sweepDeferredBy().isEmpty()
                    ? d.chunksRemoved() + " chunks swept" : "no chunk swept while backup(s) " + d.sweepDeferredBy() + " run");
        }
    }

    /** The backup's manifest, for a restore's checks before the volume is made. */
    BackupManifest manifest(String backupId, BackupTarget target) {
        try (BackupBucket bucket = new BackupBucket(target)) {
            return new BackupRepository(bucket).require(backupId);
        }
    }

    /** Writes the backup into {@code v} through its first replica's node. */
    void restore(CatalogVolume v, String backupId, BackupTarget target) {
        ClusterView view = views.get();
        String via = v.getPlacementList().stream().filter(view::up).findFirst().orElseThrow(() -> new BallastException(
                ErrorCode.UNAVAILABLE, "no replica of " + v.getId() + " is on a node that is up"));
        RestoreVolumeRequest req = RestoreVolumeRequest.newBuilder().setVolume(v.getId()).setTarget(target)
                .setBackupId(backupId).build();
        BackupProgress done = nodes.call(view.node(via).orElseThrow().getAdminAddress(), DEADLINE,
                "restore backup " + backupId + " into " + v.getId() + " on " + via, stub -> last(stub.restoreVolume(req)));
        LOG.info("volume {} restored from backup {} on {} ({} bytes downloaded)", v.getId(), backupId, via, done.getTransferredBytes());
    }

    /** The volume size a user sees for a backup: an encrypted volume's key header is not theirs. */
    static long userBytes(BackupManifest m) {
        return m.getEncrypted() ? m.getSizeBytes() - KeyHeaderLayout.DATA_OFFSET : m.getSizeBytes();
    }

    static SnapshotRecord record(BackupManifest m, String name) {
        return new SnapshotRecord(ID_PREFIX + m.getBackupId(), name, m.getVolume(), userBytes(m), m.getCreatedMillis(), true);
    }

    private static BackupProgress last(Iterator<BackupProgress> stream) {
        BackupProgress last = null;
        while (stream.hasNext()) {
            last = stream.next();
        }
        if (last == null || !last.getDone()) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "the node's progress stream ended before the work was done");
        }
        return last;
    }
}
