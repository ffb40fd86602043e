package io.ballast.replication;

import io.ballast.engine.volume.BlockVolume;
import io.ballast.engine.volume.BlockVolumeContractTest;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The BlockVolume contract over 3 replicas; one cluster for the class, a fresh volume per test. */
class ReplicatedBlockVolumeContractTest extends BlockVolumeContractTest {
    @TempDir
    static Path tmp;
    static TestCluster cluster;
    static final AtomicInteger seq = new AtomicInteger();

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new TestCluster(tmp, 3, 2048);
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    @Override
    protected BlockVolume newVolume(long sizeBytes) {
        String name = "pvc-" + seq.incrementAndGet();
        cluster.nodes[0].createReplicaGroup(name, sizeBytes, cluster.peers());
        int leader = cluster.leader(name);
        return cluster.nodes[leader].openVolume(name, 1);
    }
}
