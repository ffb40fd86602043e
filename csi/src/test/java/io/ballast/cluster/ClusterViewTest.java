package io.ballast.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A volume's condition as the CSI controller reports it, from what the catalog knows. */
class ClusterViewTest {
    private static final long NOW = 1_000_000;

    private static CatalogNode.Builder node(String id, long heartbeat) {
        return CatalogNode.newBuilder().setNodeId(id).setAdminAddress("a:1").setRaftAddress("a:2")
                .setCapacityBytes(10L << 30).setFreeBytes(8L << 30).setHeartbeatMillis(heartbeat);
    }

    private static CatalogVolume.Builder volume() {
        return CatalogVolume.newBuilder().setId("v").setName("v").setSizeBytes(1L << 30).setReplicas(3)
                .addPlacement("n1").addPlacement("n2").addPlacement("n3").setState(CatalogVolumeState.CATALOG_VOLUME_AVAILABLE);
    }

    private static ClusterView view(CatalogVolume.Builder v, CatalogNode.Builder... nodes) {
        CatalogState.Builder s = CatalogState.newBuilder().addVolumes(v);
        for (CatalogNode.Builder n : nodes) {
            s.addNodes(n);
        }
        return new ClusterView(s.build(), NOW, Duration.ofSeconds(10));
    }

    @Test
    void healthyWhenEveryReplicaNodeIsUp() {
        ClusterView view = view(volume(), node("n1", NOW - 1000), node("n2", NOW), node("n3", NOW - 9000));
        var r = view.record(view.state.getVolumes(0));
        assertFalse(r.abnormal(), r.condition());
        assertEquals("healthy", r.condition());
    }

    @Test
    void abnormalWithTheReasonWhenANodeIsSilentOrAReplicaDegraded() {
        ClusterView view = view(volume(), node("n1", NOW), node("n2", NOW - 42_000),
                node("n3", NOW).putDegradedReplicas("v", "degraded: 2 unrepairable blocks"));
        var r = view.record(view.state.getVolumes(0));
        assertTrue(r.abnormal());
        assertTrue(r.condition().contains("n2 unreachable (no heartbeat for 42 s)"), r.condition());
        assertTrue(r.condition().contains("n3 degraded: 2 unrepairable blocks"), r.condition());
    }

    @Test
    void spaceAccountingIsThick() {
        ClusterView view = view(volume(), node("n1", NOW), node("n2", NOW), node("n3", NOW), node("n4", NOW));
        var byId = new java.util.HashMap<String, Long>();
        view.candidates().forEach(c -> byId.put(c.nodeId(), c.availableBytes()));
        assertEquals(8L << 30, byId.get("n4"));          // free space bounds an empty node
        assertEquals(8L << 30, byId.get("n1"));          // 8 GiB free (10 GiB - 1 GiB - 256 MiB for its log placed: more)
        view = view(volume().setSizeBytes(8L << 30), node("n1", NOW), node("n4", NOW));
        view.candidates().forEach(c -> byId.put(c.nodeId(), c.availableBytes()));
        assertEquals((2L << 30) - (8L << 30) / 10, byId.get("n1")); // 10 GiB - (8 GiB + a tenth for its log) provisioned
        view = view(volume().setSizeBytes(4L << 30), node("n1", NOW).setFullRatio(0.9), node("n4", NOW).setFullRatio(0.9));
        view.candidates().forEach(c -> byId.put(c.nodeId(), c.availableBytes()));
        assertEquals((6L << 30) - (4L << 30) / 10 - (1L << 30), byId.get("n1")); // 10 - 4.4 provisioned, less the 10% above the full ratio
        assertEquals((8L << 30) - (1L << 30), byId.get("n4")); // 8 free, less the 10% above the full ratio
    }

    /** A drained node takes no new replica; evacuation needs an undrained node outside each placement. */
    @Test
    void drainedNodesAreNoCandidatesAndEvacuationNeedsRoomElsewhere() {
        ClusterView view = view(volume(), node("n1", NOW), node("n2", NOW), node("n3", NOW),
                node("n4", NOW).setDrain(io.ballast.proto.v1.NodeDrain.NODE_DRAIN_LEADERS));
        assertEquals(List.of("n1", "n2", "n3"), view.candidates().stream().map(Placement.Candidate::nodeId).toList());
        assertFalse(view.evacuating("n4"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.ballast.engine.error.BallastException.class,
                () -> EvacuationRoom.require(view.state, "n3", NOW, Duration.ofSeconds(10)));
        assertEquals(io.ballast.engine.error.ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("v (v, 1024 MiB)"), e.getMessage());
        ClusterView roomy = view(volume(), node("n1", NOW), node("n2", NOW), node("n3", NOW), node("n4", NOW),
                node("n5", NOW).setDrain(io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE));
        EvacuationRoom.require(roomy.state, "n3", NOW, Duration.ofSeconds(10)); // n4 can take it
        assertTrue(roomy.evacuating("n5"));
    }
}
