package io.ballast.csi.controller;

import static io.ballast.csi.controller.ControllerService.invalid;
import static io.ballast.csi.controller.ControllerService.notFound;
import static io.ballast.csi.controller.ControllerService.required;

import io.ballast.backup.BackupTargets;
import io.ballast.cluster.ClusterBackend;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.csi.InFlight;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateSnapshotResponse;
import io.ballast.proto.csi.v1.DeleteSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteSnapshotResponse;
import io.ballast.proto.csi.v1.ListSnapshotsRequest;
import io.ballast.proto.csi.v1.ListSnapshotsResponse;
import java.util.List;
import java.util.Optional;

/**
 * The snapshot RPCs of the Controller service (CreateSnapshot, DeleteSnapshot, ListSnapshots),
 * kept apart so {@link ControllerService} stays readable. Same rules: validate everything first,
 * then take the in-flight keys, then call the backend; errors are thrown as domain errors and
 * mapped by the caller. Thread-safe (no state besides the shared {@link InFlight}).
 */
final class SnapshotRpcs {
    /** The VolumeSnapshotClass parameter choosing where a snapshot lives. */
    static final String TYPE = "type";
    static final String TYPE_SNAPSHOT = "snapshot";
    static final String TYPE_BACKUP = "backup";

    private final ClusterBackend backend;
    private final InFlight inFlight;

    SnapshotRpcs(ClusterBackend backend, InFlight inFlight) {
        this.backend = backend;
        this.inFlight = inFlight;
    }

    /**
     * Idempotent by name: the snapshot of that name is returned when it is of the same source volume,
     * ALREADY_EXISTS when it is of another. Holds both the name and the source volume: a snapshot
     * changes what DeleteVolume of its source may do, and the backend expects one mutation per
     * volume at a time.
     */
    CreateSnapshotResponse createSnapshot(CreateSnapshotRequest request) {
        String name = CreateVolumeArgs.name(request.getName(), "name");
        String source = required(request.getSourceVolumeId(), "source_volume_id");
        boolean backup = false;
        for (var e : request.getParametersMap().entrySet()) {
            if (e.getKey().equals(TYPE) && (e.getValue().equals(TYPE_BACKUP) || e.getValue().equals(TYPE_SNAPSHOT))) {
                backup = e.getValue().equals(TYPE_BACKUP);
            } else if (!e.getKey().startsWith(VolumeParameters.SIDECAR_PREFIX)) {
                throw invalid("parameters: unknown snapshot parameter '" + e.getKey() + "=" + e.getValue() + "'; Ballast "
                        + "snapshots take " + TYPE + ": " + TYPE_SNAPSHOT + " (default, on the replicas) or " + TYPE_BACKUP
                        + " (to object storage; the snapshotter secret names the bucket), and ignore "
                        + VolumeParameters.SIDECAR_PREFIX + "* keys");
            }
        }
        if (backup) {
            var target = BackupTargets.fromSecrets(request.getSecretsMap(), "CreateSnapshot's secrets");
            return inFlight.call("CreateSnapshot", List.of("snapshot name " + name, "volume " + source), () ->
                    CreateSnapshotResponse.newBuilder().setSnapshot(CsiRecords.snapshot(backend.createBackup(source, name, target)))
                            .build());
        }
        return inFlight.call("CreateSnapshot", List.of("snapshot name " + name, "volume " + source), () -> {
            Optional<SnapshotRecord> existing = backend.snapshotByName(name);
            SnapshotRecord s;
            if (existing.isPresent()) {
                s = existing.get();
                if (!s.sourceVolumeId().equals(source)) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot name " + name + " is taken by snapshot "
                            + s.id() + " of volume " + s.sourceVolumeId() + ", not of " + source + "; use another name");
                }
            } else {
                backend.volume(source).orElseThrow(() -> notFound("source volume " + source + " does not exist"));
                s = backend.createSnapshot(source, name);
            }
            return CreateSnapshotResponse.newBuilder().setSnapshot(CsiRecords.snapshot(s)).build();
        });
    }

    /** Absent = success (the spec's idempotent delete). */
    DeleteSnapshotResponse deleteSnapshot(DeleteSnapshotRequest request) {
        String id = required(request.getSnapshotId(), "snapshot_id");
        return inFlight.call("DeleteSnapshot", List.of("snapshot " + id), () -> {
            if (ClusterBackend.isBackup(id)) {
                backend.deleteBackup(id, BackupTargets.fromSecrets(request.getSecretsMap(), "DeleteSnapshot's secrets"));
                return DeleteSnapshotResponse.getDefaultInstance();
            }
            backend.deleteSnapshot(id);
            return DeleteSnapshotResponse.getDefaultInstance();
        });
    }

    /**
     * Filtered by snapshot_id and/or source_volume_id (an unknown one gives an empty list, as the
     * spec asks, not NOT_FOUND), then paged by id.
     */
    ListSnapshotsResponse listSnapshots(ListSnapshotsRequest request) {
        String id = request.getSnapshotId();
        String source = request.getSourceVolumeId();
        List<SnapshotRecord> all;
        if (!id.isEmpty()) {
            all = backend.snapshot(id).stream().toList();
        } else {
            all = backend.snapshots();
        }
        List<SnapshotRecord> matching = all.stream().filter(s -> source.isEmpty() || s.sourceVolumeId().equals(source)).toList();
        var page = PageToken.page("snapshots", matching, SnapshotRecord::id, request.getStartingToken(), request.getMaxEntries());
        ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder().setNextToken(page.nextToken());
        page.entries().forEach(s -> b.addEntries(ListSnapshotsResponse.Entry.newBuilder().setSnapshot(CsiRecords.snapshot(s))));
        return b.build();
    }
}
