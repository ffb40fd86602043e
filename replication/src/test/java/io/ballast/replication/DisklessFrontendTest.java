package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftGroup;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A frontend on a node without a replica (diskless): every read is a query to the group's leader
 * through the handle's Ratis client, over four in-process nodes (replicas on the first three).
 */
class DisklessFrontendTest {
    private static final String VOL = "remote";
    private static final long SIZE = 4L << 20;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;
    @AutoClose
    ReplicatedBlockVolume handle;

    /**
     * Ratis can close a client for good (its ordered window, after a leadership change under load);
     * every later request on it fails at once. Writes replaced such a client, reads did not: a
     * frontend only read from answered every read with EIO after the 25 s retry budget (seen as a
     * failed DisklessFrontendIT in a clean-clone run: a read after fio's last write got an error,
     * and it was not the fence's). Reads now replace the client too.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void readsGoOnAfterRatisClosedTheHandlesClient() throws Exception {
        cluster = new TestCluster(tmp, 4, 100_000);
        cluster.nodes[0].createReplicaGroup(VOL, SIZE, cluster.peers(0, 1, 2));
        RaftGroup group = cluster.nodes[0].division(VOL).getGroup();
        List<RaftClient> made = new CopyOnWriteArrayList<>();
        handle = new ReplicatedBlockVolume(VOL, () -> {
            RaftClient c = cluster.nodes[3].newClient(group);
            made.add(c);
            return c;
        }, 1, cluster.nodes[3].config());
        handle.attach();
        byte[] data = new byte[64 << 10];
        new Random(7).nextBytes(data);
        Await.result(handle.write(0, ByteBuffer.wrap(data), false));
        assertArrayEquals(data, read(data.length));

        made.get(0).close(); // what Ratis's own close of a broken ordered window leaves
        assertArrayEquals(data, read(data.length), "read after the client was closed");
        assertEquals(2, made.size(), "the closed client was replaced once");
        assertArrayEquals(data, read(data.length), "and the next read uses the new one");
        assertEquals(2, made.size());
    }

    private byte[] read(int length) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(length);
        Await.result(handle.read(0, dst));
        return dst.array();
    }
}
