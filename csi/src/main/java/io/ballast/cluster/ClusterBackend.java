package io.ballast.cluster;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the CSI Controller service needs from the cluster: the catalog's records (nodes, volumes,
 * attachments, snapshots) and the operations that change them. The CSI layer validates requests,
 * serialises operations per volume and name (ABORTED when busy) and maps errors to gRPC codes; the
 * backend decides placement, talks to the storage nodes and records every decision in the catalog.
 *
 * <p>Error contract: every method throws {@link io.ballast.engine.error.BallastException} with
 * <ul>
 *   <li>NOT_FOUND: the volume, snapshot, source or node named does not exist;</li>
 *   <li>ALREADY_EXISTS: a record with that name exists with other parameters;</li>
 *   <li>FAILED_PRECONDITION: the state forbids it (attached elsewhere exclusively, volume has
 *       snapshots, volume attached while being deleted);</li>
 *   <li>NO_SPACE: too few nodes, too little space, or topology unsatisfiable (the message says which);</li>
 *   <li>OUT_OF_RANGE: a size the backend cannot provide;</li>
 *   <li>UNAVAILABLE: no catalog quorum or a needed node is down (a retry may succeed);</li>
 *   <li>INTERNAL: anything else.</li>
 * </ul>
 * Reads return what the catalog has committed. Mutations are idempotent where noted. Threading:
 * implementations are thread-safe; the caller never runs two mutations on one volume at once.
 */
public interface ClusterBackend {

    /** True once the catalog has a leader and answers (CSI Probe). */
    boolean ready();

    /** Every registered storage node, ordered by node id. */
    List<NodeRecord> nodes();

    Optional<NodeRecord> node(String nodeId);

    /** Every volume, ordered by id. */
    List<VolumeRecord> volumes();

    Optional<VolumeRecord> volume(String volumeId);

    /**
     * The volume created under {@code name}, once its creation has finished. A volume whose
     * creation was interrupted (crash, timeout) is not returned: {@link #createVolume} with the same
     * spec resumes it.
     */
    Optional<VolumeRecord> volumeByName(String name);

    /**
     * Places and creates a volume (its replica group on {@code spec.replicas()} distinct up nodes
     * honouring the topology requirement) and, for a content source, fills it with the source's
     * data before returning. Every replica is on a node satisfying one requisite segment (a node
     * satisfies a segment when it carries all its labels);
     * nodes satisfying an earlier preferred segment are chosen first when they have room.
     * A finished volume of that name is returned as it is, whatever the spec: the caller checks that
     * it is the one it asked for (so a retry costs one lookup, not two). ALREADY_EXISTS when the name
     * is taken by an interrupted creation with another spec; the same spec as an interrupted creation
     * resumes it. NOT_FOUND for a missing source; NO_SPACE when placement fails.
     */
    VolumeRecord createVolume(VolumeSpec spec);

    /**
     * Deletes the volume's record and every replica. Absent = success. FAILED_PRECONDITION while it
     * is published on a node or has snapshots.
     */
    void deleteVolume(String volumeId);

    /**
     * Grows the volume to at least {@code sizeBytes} (never shrinks) and returns it.
     * NOT_FOUND for an unknown volume.
     */
    VolumeRecord expandVolume(String volumeId, long sizeBytes);

    /**
     * Asks for {@code replicas} replicas of the volume (CSI ModifyVolume): recorded at once, then the
     * cluster adds or removes replicas online, one at a time, through the group's membership change
     * (a new replica is rebuilt by block copy before it counts); progress shows in the volume's
     * condition, and the change is done when the placement has {@code replicas} nodes and the
     * condition is healthy. The same count again is a no-op. NOT_FOUND for an unknown volume;
     * NO_SPACE (nothing recorded) when too few up nodes have room for the extra replicas.
     */
    VolumeRecord setReplicas(String volumeId, int replicas);

    /**
     * Records that the volume is published on {@code nodeId}. Idempotent for the same node and
     * mode; ALREADY_EXISTS for the same node with another read-only flag; FAILED_PRECONDITION when
     * it is published on another node and either publication is {@code exclusive} (single-node
     * access modes). NOT_FOUND for an unknown volume or node.
     */
    VolumeRecord publish(String volumeId, String nodeId, boolean readonly, boolean exclusive);

    /** Removes the publication on {@code nodeId} (null: on every node). Absent volume or publication = success. */
    void unpublish(String volumeId, String nodeId);

    /** Every snapshot, ordered by id. */
    List<SnapshotRecord> snapshots();

    Optional<SnapshotRecord> snapshot(String snapshotId);

    Optional<SnapshotRecord> snapshotByName(String name);

    /**
     * Takes a crash-consistent point-in-time snapshot of the volume. Idempotent by name for the
     * same source; ALREADY_EXISTS when the name belongs to a snapshot of another volume;
     * NOT_FOUND for an unknown source volume.
     */
    SnapshotRecord createSnapshot(String sourceVolumeId, String name);

    /** Deletes a snapshot. Absent = success. */
    void deleteSnapshot(String snapshotId);

    /**
     * Backs the volume up to {@code target} as a snapshot whose id says it is a backup
     * ({@link #isBackup}); idempotent by name. FAILED_PRECONDITION where backups are not supported.
     */
    default SnapshotRecord createBackup(String sourceVolumeId, String name, io.ballast.proto.v1.BackupTarget target) {
        throw new io.ballast.engine.error.BallastException(io.ballast.engine.error.ErrorCode.FAILED_PRECONDITION,
                "backups need the catalog backend");
    }

    /** Deletes a backup from {@code target}. Absent = success. */
    default void deleteBackup(String snapshotId, io.ballast.proto.v1.BackupTarget target) {
        throw new io.ballast.engine.error.BallastException(io.ballast.engine.error.ErrorCode.FAILED_PRECONDITION,
                "backups need the catalog backend");
    }

    /**
     * As {@link #createVolume}, filled from the backup {@code spec.sourceSnapshotId()} names, read
     * from {@code target}: INVALID_ARGUMENT when the volume is smaller than the backup or encrypted
     * when the backup is not (or the other way round).
     */
    default VolumeRecord createVolumeFromBackup(VolumeSpec spec, io.ballast.proto.v1.BackupTarget target) {
        throw new io.ballast.engine.error.BallastException(io.ballast.engine.error.ErrorCode.FAILED_PRECONDITION,
                "backups need the catalog backend");
    }

    /** The backup a snapshot id names, as a snapshot (its size is the volume's), read from {@code target}; NOT_FOUND if absent. */
    default SnapshotRecord backup(String snapshotId, io.ballast.proto.v1.BackupTarget target) {
        throw new io.ballast.engine.error.BallastException(io.ballast.engine.error.ErrorCode.FAILED_PRECONDITION,
                "backups need the catalog backend");
    }

    /** True for the id of a snapshot that is a backup in object storage. */
    static boolean isBackup(String snapshotId) {
        return BackupOps.isBackup(snapshotId);
    }

    /** A storage node as the catalog records it. {@code labels} are topology labels such as zone=a. */
    record NodeRecord(String nodeId, String adminAddress, String raftAddress, Map<String, String> labels,
            long capacityBytes, long freeBytes, boolean up, long lastHeartbeatMillis) {}

    /** One node a volume is published on. */
    record Attachment(String nodeId, boolean readonly, boolean exclusive) {}

    /**
     * A volume. {@code placement}: node ids of its replicas. {@code abnormal}/{@code condition}:
     * the CSI VolumeCondition (abnormal while a replica is missing or degraded, with the reason).
     */
    record VolumeRecord(String id, String name, long sizeBytes, int replicas, List<String> placement,
            Map<String, String> parameters, String sourceSnapshotId, String sourceVolumeId,
            List<Attachment> attachments, boolean abnormal, String condition) {}

    /**
     * A snapshot of {@code sourceVolumeId}, {@code sizeBytes} the volume's size when taken.
     */
    record SnapshotRecord(String id, String name, String sourceVolumeId, long sizeBytes,
            long creationTimeMillis, boolean readyToUse) {}

    /**
     * What CreateVolume asks for. {@code requisite}/{@code preferred}: topology segments as label
     * maps (keys without the CSI prefix; key {@code node} means the node id). At most one source.
     */
    record VolumeSpec(String name, long sizeBytes, int replicas, Map<String, String> parameters,
            String sourceSnapshotId, String sourceVolumeId,
            List<Map<String, String>> requisite, List<Map<String, String>> preferred) {}
}
