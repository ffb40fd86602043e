package io.ballast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.CatalogAttachment;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.ClusterStatus;
import io.ballast.proto.v1.GetClusterStateResponse;
import io.ballast.proto.v1.RebuildProgress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What `ballast status` concludes from a catalog: up/down by heartbeat age, conditions, rebuilds. */
class ClusterStatusViewTest {
    private static final long NOW = 1_000_000;

    private static CatalogNode.Builder node(String id, long silentMs) {
        return CatalogNode.newBuilder().setNodeId(id).setAdminAddress("127.0.0.1:1" + id.substring(1))
                .setHeartbeatMillis(NOW - silentMs).putLabels("zone", "z1").setCapacityBytes(10L << 30).setFreeBytes(5L << 30);
    }

    private static CatalogVolume.Builder volume(String id, String name) {
        return CatalogVolume.newBuilder().setId(id).setName(name).setSizeBytes(1L << 30).setReplicas(3)
                .addPlacement("n1").addPlacement("n2").addPlacement("n3").setState(CatalogVolumeState.CATALOG_VOLUME_AVAILABLE);
    }

    private static ClusterStatus view(CatalogState state) {
        return ClusterStatusView.of(GetClusterStateResponse.newBuilder().setState(state).setNowMillis(NOW).setNodeId("n1").build(),
                Duration.ofSeconds(10));
    }

    @Test
    void allUpAndLedIsHealthy() {
        ClusterStatus s = view(CatalogState.newBuilder()
                .addNodes(node("n1", 1000).addLeading("v1")).addNodes(node("n2", 1000)).addNodes(node("n3", 1000))
                .addVolumes(volume("v1", "pvc-a").addAttachments(CatalogAttachment.newBuilder().setNodeId("n1"))).build());
        ClusterStatus.Volume v = s.getVolumes(0);
        assertEquals("healthy", v.getCondition());
        assertEquals("n1", v.getLeader());
        assertEquals("n1", v.getAttached(0));
        StringWriter text = new StringWriter();
        ClusterStatusView.printTable(s, new PrintWriter(text), false);
        assertTrue(text.toString().contains("3 nodes (3 up), 1 volume (1 healthy)"), text.toString());
        assertTrue(text.toString().matches("(?s).*pvc-a\\s+v1\\s+1 GiB\\s+3 \\(n1 n2 n3\\)\\s+n1\\s+n1\\s+healthy.*"), text.toString());
    }

    @Test
    void aSilentNodeIsDownAndItsVolumesDegradedAndRebuildsShowProgress() {
        ClusterStatus s = view(CatalogState.newBuilder()
                .addNodes(node("n1", 1000).addLeading("v1").putDegradedReplicas("v1", "degraded: 3 unrepairable blocks"))
                .addNodes(node("n2", 11_000).addLeading("v1")) // down: its old leadership does not count
                .addNodes(node("n3", 0).putRebuilds("v1", RebuildProgress.newBuilder().setBytesDone(1L << 29)
                        .setBytesTotal(1L << 30).build()))
                .addVolumes(volume("v1", "pvc-a")).build());
        assertTrue(!s.getNodes(1).getUp() && s.getNodes(1).getSilentSeconds() == 11, s.getNodes(1).toString());
        String condition = s.getVolumes(0).getCondition();
        assertTrue(condition.startsWith("degraded: ") && condition.contains("n2 down")
                && condition.contains("n1 degraded: 3 unrepairable blocks") && condition.contains("rebuilding on n3"), condition);
        assertEquals("n1", s.getVolumes(0).getLeader());
        StringWriter text = new StringWriter();
        ClusterStatusView.printTable(s, new PrintWriter(text), true);
        assertTrue(text.toString().contains("pvc-a on n3  [##########..........]   50%  512 MiB / 1 GiB"), text.toString());
    }

    @Test
    void noLeaderOrTooFewPlacedReplicasIsDegraded() {
        ClusterStatus s = view(CatalogState.newBuilder().addNodes(node("n1", 0)).addNodes(node("n2", 0)).addNodes(node("n3", 0))
                .addVolumes(volume("v1", "a")).addVolumes(volume("v2", "b").clearPlacement().addPlacement("n1")).build());
        assertTrue(s.getVolumes(0).getCondition().contains("no leader reported"), s.getVolumes(0).getCondition());
        assertTrue(s.getVolumes(1).getCondition().contains("1 of 3 replicas placed"), s.getVolumes(1).getCondition());
    }
}
