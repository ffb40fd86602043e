package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.AdmitNode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog as a Raft group on three in-process nodes: commands survive a member's loss and restart. */
class CatalogReplicationTest {

    private static CatalogCommand heartbeat(String node, long millis) {
        return CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId(node)
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(millis)).build();
    }

    @Test
    void catalogSurvivesTheLossOfAMemberAndCatchesItUp(@TempDir Path dir) throws Exception {
        try (TestCluster c = new TestCluster(dir, 3, 20)) {
            for (RaftNode n : c.nodes) {
                n.catalog().join(c.peers());
            }
            try (CatalogClient client = new CatalogClient("test-cluster", c.peers(), Duration.ofSeconds(20))) {
                BallastException notAdmitted = assertThrows(BallastException.class, () -> client.submit(heartbeat("a", 1)));
                assertEquals(ErrorCode.PERMISSION_DENIED, notAdmitted.code());
                for (String id : List.of("a", "b")) {
                    client.submit(CatalogCommand.newBuilder().setAdmitNode(AdmitNode.newBuilder().setNodeId(id)).build());
                }
                client.submit(heartbeat("a", 1));
                client.submit(CatalogCommand.newBuilder().setCreateVolume(CatalogVolume.newBuilder().setId("v1")
                        .setName("pvc-1").setSizeBytes(1 << 20).setReplicas(1).addPlacement("a")).build());
                BallastException refused = assertThrows(BallastException.class, () -> client.submit(CatalogCommand
                        .newBuilder().setCreateVolume(CatalogVolume.newBuilder().setId("v1").setName("pvc-1")
                                .setSizeBytes(2 << 20).setReplicas(1).addPlacement("a")).build()));
                assertEquals(ErrorCode.ALREADY_EXISTS, refused.code());

                c.stop(2);
                for (int i = 0; i < 100; i++) { // past a catalog snapshot (every 20 entries) and its purge
                    client.submit(heartbeat("b", 10 + i));
                }
                assertEquals(2, client.read().getNodesCount());
                assertEquals("pvc-1", client.read().getVolumes(0).getName());

                c.start(2); // its group comes back from storage; it catches up from the leader
                Await.await(() -> {
                    var local = c.nodes[2].catalog().localCopy();
                    return local != null && local.equals(c.nodes[0].catalog().localCopy()) && local.getNodesCount() == 2;
                }, "restarted member has the catalog");
                assertEquals(109, c.nodes[2].catalog().localCopy().getNodes(1).getHeartbeatMillis());
            }
        }
    }
}
