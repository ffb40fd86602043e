package io.ballast.replication.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.TestBytes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A snapshot asked of the node's own Raft server in process is taken at the applied index. */
class LocalSnapshotRequestTest {
    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;

    @Test
    void aRequestIsAnsweredByACheckpointAtTheAppliedIndex() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000); // Ratis's own trigger stays out of the way
        ReplicatedBlockVolume v = cluster.createVolume("snap", 4L << 20);
        for (long blk = 0; blk < 8; blk++) {
            Await.result(v.write(blk * TestBytes.BLOCK, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        VolumeStateMachine sm = cluster.nodes[cluster.leader("snap")].stateMachine("snap");
        long applied = sm.appliedIndex();
        assertTrue(sm.getLatestSnapshot() == null || sm.getLatestSnapshot().getIndex() < applied, "no checkpoint yet");

        assertEquals(LocalSnapshotRequest.Outcome.TAKEN, LocalSnapshotRequest.create(sm.division(), 10_000));
        assertTrue(sm.getLatestSnapshot().getIndex() >= applied, "checkpoint at " + sm.getLatestSnapshot().getIndex()
                + ", applied " + applied);
        v.close();
    }
}
