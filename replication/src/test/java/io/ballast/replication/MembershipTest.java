package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.FreePorts;
import io.ballast.replication.testing.TestBytes;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Adding and removing replicas of a live volume, and the refusals that must change nothing (4 in-process nodes). */
class MembershipTest {
    private static final int B = 4096;
    private static final long SIZE = 4L << 20;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;

    @Test
    void memberAddedUnderWritesIsRebuiltAndRemovedMemberLosesItsReplica() throws Exception {
        cluster = new TestCluster(tmp, 4, 50);
        cluster.nodes[0].createReplicaGroup("m", SIZE, cluster.peers(0, 1, 2));
        // The writer stays attached on a node that remains a member: n2 is removed below, and a
        // handle on a removed node has no replica left (its writes fail, as they should).
        int frontend = cluster.leader("m") == 2 ? 0 : cluster.leader("m");
        ReplicatedBlockVolume v = cluster.nodes[frontend].openVolume("m", 1);
        for (long blk = 0; blk < 200; blk++) { // one entry each: the log is purged behind snapshots
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        AtomicBoolean writing = new AtomicBoolean(true);
        CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> {
            long n = 0;
            while (writing.get()) {
                long blk = n % (SIZE / B);
                v.write(blk * B, ByteBuffer.wrap(TestBytes.block(1000 + n)), false).join();
                n++;
            }
            return n;
        });

        assertTrue(cluster.nodes[1].addReplica("m", "n3", cluster.configs[3].address()), "a new member");
        GroupStatus added = cluster.nodes[3].status("m");
        assertEquals(SIZE, added.rebuildBytesTotal(), "the new member was rebuilt by block copy: " + added);
        assertEquals(SIZE, added.rebuildBytesDone());
        assertEquals(Map.of("n0", cluster.configs[0].address(), "n1", cluster.configs[1].address(),
                "n2", cluster.configs[2].address(), "n3", cluster.configs[3].address()), cluster.nodes[0].members("m"));

        assertNull(cluster.nodes[0].removeReplica("m", "n2", null), "n2 confirmed deleting its replica");
        writing.set(false);
        assertTrue(writer.get(30, TimeUnit.SECONDS) > 0, "writes went on during both changes");
        assertFalse(cluster.nodes[2].groups().contains("m"));
        assertFalse(Files.exists(tmp.resolve("node2/volumes/m")), "n2's replica is deleted");
        assertEquals(List.of("n0", "n1", "n3"), List.copyOf(cluster.nodes[3].status("m").members().keySet()));
        cluster.assertReplicasIdentical("m", 0, 1, 3);
        v.close();
    }

    @Test
    void wipedMemberReAddedIsRebuilt() throws Exception {
        cluster = new TestCluster(tmp, 3, 50);
        cluster.nodes[0].createReplicaGroup("w", SIZE, cluster.peers(0, 1, 2));
        ReplicatedBlockVolume v = cluster.nodes[cluster.leader("w")].openVolume("w", 1);
        int victim = (cluster.leader("w") + 1) % 3;
        cluster.wipe(victim);
        for (long blk = 0; blk < 200; blk++) { // the log is kept: the rebuild below is chosen, not forced
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        cluster.start(victim); // a fresh data directory: no group, no replica
        assertFalse(cluster.nodes[victim].groups().contains("w"));
        int other = (victim + 1) % 3;
        assertFalse(cluster.nodes[other].addReplica("w", "n" + victim, cluster.configs[victim].address()), "re-joined, not new");
        GroupStatus rebuilt = cluster.nodes[victim].status("w");
        assertEquals(SIZE, rebuilt.rebuildBytesTotal(), "re-added as a new member: rebuilt by block copy: " + rebuilt);
        assertEquals(SIZE, rebuilt.rebuildBytesDone());
        assertEquals(3, rebuilt.members().size(), "the member is back: " + rebuilt.members());
        cluster.assertReplicasIdentical("w", 0, 1, 2);
        v.close();
    }

    @Test
    void removingTheLeaderHandsTheGroupToTheRemainingMembers() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        cluster.nodes[0].createReplicaGroup("l", SIZE, cluster.peers(0, 1, 2));
        ReplicatedBlockVolume v = cluster.nodes[0].openVolume("l", 1); // the frontend stays on n0
        cluster.nodes[0].transferLeadership("l", "n1", java.time.Duration.ofSeconds(10));
        Await.await(() -> "n1".equals(cluster.nodes[0].status("l").leaderId()), "n1 leads");
        Await.result(v.write(0, ByteBuffer.wrap(TestBytes.block(1)), false));

        assertNull(cluster.nodes[0].removeReplica("l", "n1", cluster.configs[1].address()));
        Await.result(v.write(B, ByteBuffer.wrap(TestBytes.block(2)), false)); // goes on under a leader among n0, n2
        assertEquals(List.of("n0", "n2"), List.copyOf(cluster.nodes[0].status("l").members().keySet()));
        assertFalse(cluster.nodes[1].groups().contains("l"));
        cluster.assertReplicasIdentical("l", 0, 2);
        byte[] c = cluster.content(2, "l");
        assertArrayEquals(TestBytes.block(1), java.util.Arrays.copyOfRange(c, 0, B));
        assertArrayEquals(TestBytes.block(2), java.util.Arrays.copyOfRange(c, B, 2 * B));
        v.close();
    }

    @Test
    void badMembershipRequestsAreRefusedAndChangeNothing() throws Exception {
        cluster = new TestCluster(tmp, 4, 100_000);
        cluster.nodes[0].createReplicaGroup("r", SIZE, cluster.peers(0, 1, 2));
        cluster.nodes[0].createReplicaGroup("single", SIZE, cluster.peers(0));
        ReplicatedBlockVolume v = cluster.nodes[cluster.leader("r")].openVolume("r", 1);
        Await.result(v.write(0, ByteBuffer.wrap(TestBytes.block(1)), false));
        cluster.assertReplicasIdentical("r", 0, 1, 2);
        Map<String, String> members = cluster.nodes[0].members("r");
        int leader = cluster.leader("r");
        long commit = cluster.nodes[leader].status("r").commitIndex();
        String a1 = cluster.configs[1].address();
        String a3 = cluster.configs[3].address();
        RaftNode n0 = cluster.nodes[0];

        refused(ErrorCode.NOT_FOUND, () -> cluster.nodes[3].addReplica("r", "n3", a3), "no replica of the volume on n3");
        refused(ErrorCode.NOT_FOUND, () -> n0.addReplica("nope", "n3", a3), "unknown volume");
        refused(ErrorCode.ALREADY_EXISTS, () -> n0.addReplica("r", "n1", a1), "n1 is a member");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n1", a3), "n1 at another address");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n9", a1), "n1's address under another id");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n3", "127.0.0.1"), "no port");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n3", "127.0.0.1:70000"), "port out of range");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n3", ":7000"), "no host");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "bad id", a3), "id with a space");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.addReplica("r", "n9", a3), "the node at n3's address is n3, not n9");
        refused(ErrorCode.UNAVAILABLE, () -> n0.addReplica("r", "n9", "127.0.0.1:" + FreePorts.next()), "nothing listens there");
        refused(ErrorCode.NOT_FOUND, () -> n0.removeReplica("r", "n3", null), "n3 is not a member");
        refused(ErrorCode.INVALID_ARGUMENT, () -> n0.removeReplica("r", "n1", a3), "n1 is not at that address");
        refused(ErrorCode.FAILED_PRECONDITION, () -> n0.removeReplica("single", "n0", null), "the last replica");

        assertEquals(members, cluster.nodes[0].members("r"));
        assertEquals(Map.of("n0", cluster.configs[0].address()), cluster.nodes[0].members("single"));
        assertEquals(commit, cluster.nodes[cluster.leader("r")].status("r").commitIndex(), "nothing was appended");
        assertFalse(cluster.nodes[3].groups().contains("r"), "n3 got no group from the refused requests");
        cluster.assertReplicasIdentical("r", 0, 1, 2);
        assertArrayEquals(TestBytes.block(1), java.util.Arrays.copyOf(cluster.content(1, "r"), B));
        v.close();
    }

    private static void refused(ErrorCode code, Executable call, String why) {
        BallastException e = assertThrows(BallastException.class, call, why);
        assertEquals(code, e.code(), why + ": " + e.getMessage());
    }
}
