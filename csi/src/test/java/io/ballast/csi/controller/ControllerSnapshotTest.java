package io.ballast.csi.controller;

import static io.ballast.csi.InProcessCsi.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.Snapshot;
import io.grpc.Status.Code;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** CreateSnapshot and DeleteSnapshot, and what a snapshot does to DeleteVolume of its source. */
class ControllerSnapshotTest {
    private static final long NOW = 1_767_225_600_123L;
    private final InMemoryClusterBackend backend = new InMemoryClusterBackend(() -> NOW)
            .addNode("n1", java.util.Map.of(), 10L << 30);
    private InProcessCsi csi;
    private String vol;
    private String other;

    @BeforeEach
    void start() throws Exception {
        csi = new InProcessCsi(backend);
        vol = csi.controller.createVolume(CsiRequests.create("pvc-1").build()).getVolume().getVolumeId();
        other = csi.controller.createVolume(CsiRequests.create("pvc-2").build()).getVolume().getVolumeId();
    }

    @AfterEach
    void stop() throws Exception {
        csi.close();
    }

    private static CreateSnapshotRequest.Builder snapshot(String name, String source) {
        return CreateSnapshotRequest.newBuilder().setName(name).setSourceVolumeId(source).putSecrets("token", "s3cr3t");
    }

    @Test
    void createSnapshotDescribesTheSnapshotAndIsIdempotentByName() {
        Snapshot s = csi.controller.createSnapshot(snapshot("snap-1", vol).build()).getSnapshot();
        assertEquals(vol, s.getSourceVolumeId());
        assertEquals(64L << 20, s.getSizeBytes());
        assertTrue(s.getReadyToUse());
        assertEquals(NOW / 1000, s.getCreationTime().getSeconds());
        assertEquals(123_000_000, s.getCreationTime().getNanos());
        assertEquals(s, csi.controller.createSnapshot(snapshot("snap-1", vol)
                .putParameters("csi.storage.k8s.io/volumesnapshot/name", "daily").build()).getSnapshot());
        assertEquals(1, backend.snapshots().size());
        assertTrue(csi.log.stream().noneMatch(l -> l.contains("s3cr3t")), csi.log.toString());
    }

    @Test
    void aNameOfAnotherVolumesSnapshotIsAlreadyExists() {
        csi.controller.createSnapshot(snapshot("snap-1", vol).build());
        var status = assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createSnapshot(snapshot("snap-1", other).build()));
        assertTrue(status.getDescription().contains(vol), status.getDescription());
    }

    @Test
    void badSnapshotRequestsAreRefusedBeforeTheBackend() {
        int before = backend.mutations().size();
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createSnapshot(snapshot("", vol).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createSnapshot(snapshot("snap-1", "").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createSnapshot(snapshot("snap-1", vol).putParameters("tier", "cold").build()));
        assertCode(Code.NOT_FOUND, () -> csi.controller.createSnapshot(snapshot("snap-1", "vol-nope").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.deleteSnapshot(DeleteSnapshotRequest.getDefaultInstance()));
        assertEquals(before, backend.mutations().size(), backend.mutations().toString());
    }

    @Test
    void deleteSnapshotIsIdempotentAndFreesTheSourceForDeletion() {
        String id = csi.controller.createSnapshot(snapshot("snap-1", vol).build()).getSnapshot().getSnapshotId();
        var deleteVolume = DeleteVolumeRequest.newBuilder().setVolumeId(vol).build();
        assertCode(Code.FAILED_PRECONDITION, () -> csi.controller.deleteVolume(deleteVolume));
        var delete = DeleteSnapshotRequest.newBuilder().setSnapshotId(id).putSecrets("token", "s3cr3t").build();
        csi.controller.deleteSnapshot(delete);
        csi.controller.deleteSnapshot(delete);
        csi.controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId("snap-never-existed").build());
        assertEquals(List.of(), backend.snapshots());
        csi.controller.deleteVolume(deleteVolume);
        assertTrue(backend.volume(vol).isEmpty());
    }
}
