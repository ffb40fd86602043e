package io.ballast.csi.controller;

import static io.ballast.csi.InProcessCsi.assertCode;
import static io.ballast.csi.controller.CsiRequests.publish;
import static io.ballast.csi.controller.CsiRequests.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.ListVolumesRequest;
import io.grpc.Status;
import io.grpc.Status.Code;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The in-flight rule, made deterministic: the backend parks one chosen call on a latch, so a second
 * operation on the same key provably arrives while the first is inside the backend. It must be
 * ABORTED at once (the test would time out if it blocked), while other keys proceed.
 */
class ControllerConcurrencyTest {
    /** Parks the first backend call whose description equals {@link #park} until {@link #release}. */
    static final class ParkingBackend extends InMemoryClusterBackend {
        volatile String park;
        final CountDownLatch parked = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        private void maybePark(String call) {
            if (call.equals(park)) {
                park = null;
                parked.countDown();
                try {
                    if (!release.await(30, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("test never released " + call);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }

        @Override
        public VolumeRecord createVolume(VolumeSpec spec) {
            maybePark("createVolume " + spec.name());
            return super.createVolume(spec);
        }

        @Override
        public VolumeRecord publish(String volumeId, String nodeId, boolean readonly, boolean exclusive) {
            maybePark("publish " + volumeId);
            return super.publish(volumeId, nodeId, readonly, exclusive);
        }

        @Override
        public SnapshotRecord createSnapshot(String sourceVolumeId, String name) {
            maybePark("createSnapshot " + name);
            return super.createSnapshot(sourceVolumeId, name);
        }
    }

    private final ParkingBackend backend = new ParkingBackend();
    private InProcessCsi csi;

    @BeforeEach
    void start() throws Exception {
        backend.addNode("n1", java.util.Map.of(), 10L << 30).addNode("n2", java.util.Map.of(), 10L << 30);
        csi = new InProcessCsi(backend);
    }

    @AfterEach
    void stop() throws Exception {
        backend.release.countDown();
        csi.close();
    }

    private void awaitParked() throws InterruptedException {
        assertTrue(backend.parked.await(10, TimeUnit.SECONDS), "the first call never reached the backend");
    }

    @Test
    void aSecondCreateOfTheSameNameIsAbortedWhileOtherNamesProceed() throws Exception {
        backend.park = "createVolume pvc-1";
        var first = csi.controllerAsync.createVolume(CsiRequests.create("pvc-1").build());
        awaitParked();
        Status busy = assertCode(Code.ABORTED, () -> csi.controller.createVolume(CsiRequests.create("pvc-1").build()));
        assertTrue(busy.getDescription().contains("CreateVolume is in progress on volume name pvc-1"), busy.getDescription());
        String other = csi.controller.createVolume(CsiRequests.create("pvc-2").build()).getVolume().getVolumeId();
        // reads are never held up
        assertEquals(1, csi.controller.listVolumes(ListVolumesRequest.getDefaultInstance()).getEntriesCount());
        assertFalse(first.isDone());

        backend.release.countDown();
        String created = first.get(10, TimeUnit.SECONDS).getVolume().getVolumeId();
        // the key is free again: the retry is the idempotent OK
        assertEquals(created, csi.controller.createVolume(CsiRequests.create("pvc-1").build()).getVolume().getVolumeId());
        assertEquals(2, backend.volumes().size());
        assertTrue(!other.equals(created));
    }

    @Test
    void everyMutationOfABusyVolumeIsAborted() throws Exception {
        String vol = csi.controller.createVolume(CsiRequests.create("pvc-1").build()).getVolume().getVolumeId();
        String other = csi.controller.createVolume(CsiRequests.create("pvc-2").build()).getVolume().getVolumeId();
        backend.park = "publish " + vol;
        var first = csi.controllerAsync.controllerPublishVolume(publish(vol, "n1").build());
        awaitParked();
        assertCode(Code.ABORTED, () -> csi.controller.controllerPublishVolume(publish(vol, "n1").build()));
        assertCode(Code.ABORTED, () -> csi.controller.controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder()
                .setVolumeId(vol).setNodeId("n1").build()));
        assertCode(Code.ABORTED, () -> csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build()));
        assertCode(Code.ABORTED, () -> csi.controller.controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder()
                .setVolumeId(vol).setCapacityRange(range(128L << 20, 0)).build()));
        assertCode(Code.ABORTED, () -> csi.controller.createSnapshot(CreateSnapshotRequest.newBuilder()
                .setName("snap-1").setSourceVolumeId(vol).build()));
        // another volume is not held up
        csi.controller.controllerPublishVolume(publish(other, "n2").build());

        backend.release.countDown();
        first.get(10, TimeUnit.SECONDS);
        assertEquals(1, backend.volume(vol).orElseThrow().attachments().size());
        assertTrue(backend.snapshots().isEmpty());
        csi.controller.controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(vol).build());
    }

    @Test
    void aSnapshotInProgressHoldsItsNameAndItsSourceVolume() throws Exception {
        String vol = csi.controller.createVolume(CsiRequests.create("pvc-1").build()).getVolume().getVolumeId();
        String other = csi.controller.createVolume(CsiRequests.create("pvc-2").build()).getVolume().getVolumeId();
        backend.park = "createSnapshot snap-1";
        var first = csi.controllerAsync.createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-1").setSourceVolumeId(vol).build());
        awaitParked();
        assertCode(Code.ABORTED, () -> csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build()));
        assertCode(Code.ABORTED, () -> csi.controller.createSnapshot(CreateSnapshotRequest.newBuilder()
                .setName("snap-1").setSourceVolumeId(other).build()));
        backend.release.countDown();
        assertEquals(vol, first.get(10, TimeUnit.SECONDS).getSnapshot().getSourceVolumeId());
        assertCode(Code.FAILED_PRECONDITION, () -> csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build()));
    }
}
