package io.ballast.csi.controller;

import io.ballast.cluster.ClusterBackend;
import static io.ballast.csi.InProcessCsi.assertCode;
import static io.ballast.csi.controller.CsiRequests.GIB;
import static io.ballast.csi.controller.CsiRequests.block;
import static io.ballast.csi.controller.CsiRequests.mount;
import static io.ballast.csi.controller.CsiRequests.publish;
import static io.ballast.csi.controller.CsiRequests.segment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.proto.csi.v1.GetCapacityRequest;
import io.ballast.proto.csi.v1.GetCapacityResponse;
import io.ballast.proto.csi.v1.ListSnapshotsRequest;
import io.ballast.proto.csi.v1.ListSnapshotsResponse;
import io.ballast.proto.csi.v1.ListVolumesRequest;
import io.ballast.proto.csi.v1.ListVolumesResponse;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ListVolumes, ListSnapshots (pagination, filters, tokens) and GetCapacity. */
class ControllerListTest {
    private final InMemoryClusterBackend backend = CsiRequests.threeNodes();
    private InProcessCsi csi;

    @BeforeEach
    void start() throws Exception {
        csi = new InProcessCsi(backend);
    }

    @AfterEach
    void stop() throws Exception {
        csi.close();
    }

    private List<String> createVolumes(int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(csi.controller.createVolume(CsiRequests.create("pvc-" + i).build()).getVolume().getVolumeId());
        }
        return ids;
    }

    private static List<String> ids(ListVolumesResponse r) {
        return r.getEntriesList().stream().map(e -> e.getVolume().getVolumeId()).toList();
    }

    @Test
    void listVolumesPagesThroughEveryVolumeOnceWithStatus() {
        List<String> all = createVolumes(5);
        csi.controller.controllerPublishVolume(publish(all.get(1), "n2").build());
        backend.setCondition(all.get(2), true, "replica on n1 failed its checksum scrub");
        List<String> seen = new ArrayList<>();
        String token = "";
        int pages = 0;
        do {
            ListVolumesResponse page = csi.controller.listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(2).setStartingToken(token).build());
            assertTrue(page.getEntriesCount() <= 2);
            seen.addAll(ids(page));
            for (var e : page.getEntriesList()) {
                String id = e.getVolume().getVolumeId();
                assertEquals(id.equals(all.get(1)) ? List.of("n2") : List.of(), e.getStatus().getPublishedNodeIdsList());
                assertEquals(id.equals(all.get(2)), e.getStatus().getVolumeCondition().getAbnormal());
                assertFalse(e.getStatus().getVolumeCondition().getMessage().isEmpty());
                assertEquals(64L << 20, e.getVolume().getCapacityBytes());
                assertEquals(1, e.getVolume().getAccessibleTopologyCount());
            }
            token = page.getNextToken();
            pages++;
        } while (!token.isEmpty());
        assertEquals(all, seen);
        assertEquals(3, pages);
        assertEquals(all, ids(csi.controller.listVolumes(ListVolumesRequest.getDefaultInstance())));
    }

    @Test
    void aPageTokenSurvivesTheDeletionOfTheVolumeItPointsAt() {
        List<String> all = createVolumes(4);
        ListVolumesResponse first = csi.controller.listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(2).build());
        backend.deleteVolume(all.get(2));
        ListVolumesResponse rest = csi.controller.listVolumes(ListVolumesRequest.newBuilder().setStartingToken(first.getNextToken()).build());
        assertEquals(List.of(all.get(3)), ids(rest));
        assertTrue(rest.getNextToken().isEmpty());
    }

    @Test
    void badTokensAreAbortedAndNegativeMaxInvalid() {
        createVolumes(3);
        assertCode(Code.ABORTED, () -> csi.controller.listVolumes(ListVolumesRequest.newBuilder().setStartingToken("invalid-token").build()));
        assertCode(Code.ABORTED, () -> csi.controller.listVolumes(ListVolumesRequest.newBuilder().setStartingToken("%%%").build()));
        assertCode(Code.ABORTED, () -> csi.controller.listVolumes(ListVolumesRequest.newBuilder()
                .setStartingToken(PageToken.encode("snapshots", "vol-000001")).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(-1).build()));
        assertCode(Code.ABORTED, () -> csi.controller.listSnapshots(ListSnapshotsRequest.newBuilder().setStartingToken("invalid-token").build()));
    }

    @Test
    void listSnapshotsFiltersByIdAndSourceAndPages() {
        List<String> vols = createVolumes(2);
        SnapshotRecord s1 = backend.createSnapshot(vols.get(0), "s1");
        SnapshotRecord s2 = backend.createSnapshot(vols.get(0), "s2");
        SnapshotRecord s3 = backend.createSnapshot(vols.get(1), "s3");
        assertEquals(List.of(s1.id(), s2.id(), s3.id()), snapIds(ListSnapshotsRequest.getDefaultInstance()));
        assertEquals(List.of(s1.id(), s2.id()), snapIds(ListSnapshotsRequest.newBuilder().setSourceVolumeId(vols.get(0)).build()));
        assertEquals(List.of(s3.id()), snapIds(ListSnapshotsRequest.newBuilder().setSnapshotId(s3.id()).build()));
        assertEquals(List.of(), snapIds(ListSnapshotsRequest.newBuilder().setSnapshotId("snap-nope").build()));
        assertEquals(List.of(), snapIds(ListSnapshotsRequest.newBuilder().setSourceVolumeId("vol-nope").build()));
        assertEquals(List.of(), snapIds(ListSnapshotsRequest.newBuilder().setSnapshotId(s3.id()).setSourceVolumeId(vols.get(0)).build()));

        ListSnapshotsResponse page1 = csi.controller.listSnapshots(ListSnapshotsRequest.newBuilder().setMaxEntries(2).build());
        assertEquals(2, page1.getEntriesCount());
        ListSnapshotsResponse page2 = csi.controller.listSnapshots(ListSnapshotsRequest.newBuilder().setMaxEntries(2)
                .setStartingToken(page1.getNextToken()).build());
        assertEquals(List.of(s3.id()), page2.getEntriesList().stream().map(e -> e.getSnapshot().getSnapshotId()).toList());
        assertTrue(page2.getNextToken().isEmpty());
        var snap = page1.getEntries(0).getSnapshot();
        assertEquals(vols.get(0), snap.getSourceVolumeId());
        assertEquals(64L << 20, snap.getSizeBytes());
        assertTrue(snap.getReadyToUse());
        assertEquals(s1.creationTimeMillis() / 1000, snap.getCreationTime().getSeconds());
    }

    private List<String> snapIds(ListSnapshotsRequest request) {
        return csi.controller.listSnapshots(request).getEntriesList().stream().map(e -> e.getSnapshot().getSnapshotId()).toList();
    }

    /** The largest volume (in MiB) whose replica, with its log budget, fits in {@code free} bytes. */
    private static long fits(long free) {
        return io.ballast.cluster.ReplicaFootprint.largestFitting(free, 1L << 20);
    }

    private GetCapacityResponse capacity(GetCapacityRequest.Builder request) {
        GetCapacityResponse r = csi.controller.getCapacity(request.build());
        assertEquals(r.getAvailableCapacity(), r.getMaximumVolumeSize().getValue());
        return r;
    }

    @Test
    void capacityIsTheLargestVolumeThatFitsOnEnoughNodesOfTheSegment() {
        // n1 gives 2 GiB to a single-replica volume: 8 GiB free there, 10 on n2 and n3; a replica
        // also needs room for its Raft log (ReplicaFootprint), so a little less than 8 and 10 GiB fits
        VolumeRecord v = backend.createVolume(new ClusterBackend.VolumeSpec("big", 2 * GIB, 1, Map.of(), null, null,
                List.of(Map.of("node", "n1")), List.of()));
        assertEquals(List.of("n1"), v.placement());
        assertEquals(fits(8 * GIB), capacity(GetCapacityRequest.newBuilder()).getAvailableCapacity()); // 3 replicas by default
        assertEquals(fits(10 * GIB), capacity(GetCapacityRequest.newBuilder().putParameters("replicas", "1")).getAvailableCapacity());
        assertEquals(fits(10 * GIB), capacity(GetCapacityRequest.newBuilder().putParameters("replicas", "2")).getAvailableCapacity());
        var zoneA = segment("topology.ballast.csi.io/zone", "a");
        assertEquals(fits(8 * GIB), capacity(GetCapacityRequest.newBuilder().setAccessibleTopology(zoneA)
                .putParameters("replicas", "2")).getAvailableCapacity());
        assertEquals(0, capacity(GetCapacityRequest.newBuilder().setAccessibleTopology(zoneA)).getAvailableCapacity());
        // A node's segment: a volume reachable from n1 may keep its replica on any node.
        assertEquals(fits(10 * GIB), capacity(GetCapacityRequest.newBuilder().putParameters("replicas", "1")
                .setAccessibleTopology(segment("topology.ballast.csi.io/node", "n1", "topology.ballast.csi.io/cluster", "c1")))
                .getAvailableCapacity());
        // ... also with its zone (the CO's segment of a node): 3 replicas anywhere, 7 GiB
        assertEquals(fits(8 * GIB), capacity(GetCapacityRequest.newBuilder()
                .setAccessibleTopology(segment("topology.ballast.csi.io/node", "n1", "topology.ballast.csi.io/zone", "a")))
                .getAvailableCapacity());
        backend.setUp("n3", false);
        assertEquals(0, capacity(GetCapacityRequest.newBuilder()).getAvailableCapacity());
        assertEquals(fits(8 * GIB), capacity(GetCapacityRequest.newBuilder().putParameters("replicas", "2")).getAvailableCapacity());
    }

    @Test
    void capacityForUnsupportedCapabilitiesIsZeroAndBadRequestsInvalid() {
        assertEquals(fits(10 * GIB), capacity(GetCapacityRequest.newBuilder().addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER))).getAvailableCapacity());
        assertEquals(0, capacity(GetCapacityRequest.newBuilder().addVolumeCapabilities(mount(Mode.MULTI_NODE_MULTI_WRITER, "ext4"))).getAvailableCapacity());
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.getCapacity(GetCapacityRequest.newBuilder()
                .addVolumeCapabilities(mount().toBuilder().clearAccessMode()).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.getCapacity(GetCapacityRequest.newBuilder().putParameters("replicas", "9").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.getCapacity(GetCapacityRequest.newBuilder().putParameters("speed", "fast").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.getCapacity(GetCapacityRequest.newBuilder()
                .setAccessibleTopology(segment("topology.kubernetes.io/zone", "a")).build()));
    }
}
