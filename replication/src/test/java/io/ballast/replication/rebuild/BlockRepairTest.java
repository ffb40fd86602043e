package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.client.RaftClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invariant 4 over a 3-node in-process cluster: bytes flipped in one replica's data file (through
 * the page cache, as bit rot under a running node looks to it) are repaired from a peer on read
 * and by scrub, counted, and never returned; a block bad on every replica fails the read.
 */
class BlockRepairTest {
    private static final int B = 4096;
    private static final long SIZE = 4L << 20;
    private static final String VOL = "rot";

    @TempDir
    Path tmp;
    TestCluster cluster;
    ReplicatedBlockVolume handle;
    int leader;
    byte[] data;

    @AfterEach
    void stop() {
        if (handle != null) {
            handle.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A 3-replica volume whose first 8 blocks hold random data, attached on the leader. */
    private void start() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        cluster.nodes[0].createReplicaGroup(VOL, SIZE, cluster.peers());
        leader = cluster.leader(VOL);
        handle = cluster.nodes[leader].openVolume(VOL, 1);
        data = new byte[8 * B];
        new Random(42).nextBytes(data);
        Await.result(handle.write(0, ByteBuffer.wrap(data), false));
        cluster.awaitConverged(VOL);
    }

    private int follower() {
        return (leader + 1) % 3;
    }

    private byte[] read(long offset, int length) {
        ByteBuffer dst = ByteBuffer.allocate(length);
        Await.result(handle.read(offset, dst));
        return dst.array();
    }

    private IntegrityStatus integrity(int node) {
        return cluster.nodes[node].status(VOL).integrity();
    }

    @Test
    void readRepairsCorruptBlocksFromAPeerAndCountsThem() throws Exception {
        start();
        cluster.rotBlock(leader, VOL, 3);
        cluster.rotBlock(leader, VOL, 5);
        var store = cluster.nodes[leader].stateMachine(VOL).store();

        assertArrayEquals(data, read(0, 8 * B), "the read returns the good data");
        IntegrityStatus s = integrity(leader);
        assertEquals(2, s.corruptBlocksFound(), s.toString());
        assertEquals(2, s.blocksRepaired(), s.toString());
        assertEquals(0, s.unrepairableFound(), s.toString());
        assertEquals("healthy", s.condition());

        long failures = store.checksumFailures();
        assertArrayEquals(data, read(0, 8 * B));
        assertEquals(failures, store.checksumFailures(), "the second read hits no corruption: repaired on disk");
        assertEquals(List.of(), store.verify());
        assertEquals(2, integrity(leader).blocksRepaired(), "nothing more to repair");
        assertArrayEquals(cluster.content((leader + 1) % 3, VOL), cluster.content(leader, VOL));
    }

    @Test
    void aBlockBadOnEveryReplicaFailsTheReadAndDegradesTheVolumeUntilRewritten() throws Exception {
        start();
        for (int i = 0; i < 3; i++) {
            cluster.rotBlock(i, VOL, 2);
        }
        BallastException e = assertThrows(BallastException.class, () -> read(2L * B, B));
        assertEquals(ErrorCode.CORRUPTION, e.code(), e.toString());
        assertThrows(BallastException.class, () -> read(B + 100, B), "any read touching the block fails");
        assertArrayEquals(Arrays.copyOfRange(data, 0, 2 * B), read(0, 2 * B), "its neighbours read fine");
        assertArrayEquals(Arrays.copyOfRange(data, 3 * B, 8 * B), read(3L * B, 5 * B));
        IntegrityStatus s = integrity(leader);
        assertEquals(0, s.blocksRepaired(), s.toString());
        assertEquals(2, s.unrepairableFound(), "two reads, two failed attempts: " + s);
        assertEquals(1, s.unrepairableBlocks(), s.toString());
        assertEquals("degraded: 1 unrepairable block", s.condition());
        assertTrue(!s.healthy());

        // A whole-block write replaces the bad block everywhere; the next scrub finds it healthy.
        byte[] fresh = new byte[B];
        Arrays.fill(fresh, (byte) 7);
        Await.result(handle.write(2L * B, ByteBuffer.wrap(fresh), false));
        cluster.awaitConverged(VOL);
        Await.result(cluster.nodes[leader].scrub(VOL));
        assertEquals("healthy", integrity(leader).condition());
        assertArrayEquals(fresh, read(2L * B, B));
    }

    @Test
    void scrubRepairsAFollowerWithProgressInStatus() throws Exception {
        start();
        int f = follower();
        cluster.rotBlock(f, VOL, 1);
        cluster.rotBlock(f, VOL, 6);
        Await.result(cluster.nodes[f].scrub(VOL));
        IntegrityStatus s = integrity(f);
        assertEquals(2, s.corruptBlocksFound(), s.toString());
        assertEquals(2, s.blocksRepaired(), s.toString());
        assertEquals(SIZE, s.scrubBytesTotal());
        assertEquals(SIZE, s.scrubBytesDone());
        assertEquals(1, s.scrubsCompleted());
        assertTrue(!s.scrubRunning());
        assertEquals(List.of(), cluster.nodes[f].stateMachine(VOL).store().verify());
        assertArrayEquals(data, Arrays.copyOf(cluster.content(f, VOL), 8 * B));
        assertEquals(0, integrity(leader).corruptBlocksFound(), "the leader's replica was never bad");
    }

    /**
     * Liveness: the leader keeps applying writes, so every copy a peer sends is older than what the
     * leader applied by the time it arrives. The repair must still succeed (by holding applies).
     */
    @Test
    void readRepairSucceedsWhileThisReplicaKeepsApplyingNewerWrites() throws Exception {
        start();
        cluster.rotBlock(leader, VOL, 3);
        VolumeStateMachine sm = cluster.nodes[leader].stateMachine(VOL);
        AtomicInteger writes = new AtomicInteger();
        byte[] other = new byte[B];
        sm.repairer.afterFetch = () -> { // after each fetch, an unrelated write is applied here
            Await.result(handle.write(100L * B + (writes.incrementAndGet() % 8) * B, ByteBuffer.wrap(other), false));
        };
        long applied = sm.appliedIndex(); // peers trail by a Ratis metadata entry for a heartbeat: wait
        for (int i = 0; i < 3; i++) {
            int n = i;
            Await.await(() -> cluster.nodes[n].status(VOL).appliedIndex() >= applied, "node " + n + " catches up");
        }
        assertArrayEquals(data, read(0, 8 * B));
        // Every copy that arrives while applies go on is overtaken (or the peer trails): only a repair
        // that holds applies can finish.
        assertTrue(writes.get() >= 1, "the first copy was overtaken by a write applied here");
        assertEquals(1, integrity(leader).blocksRepaired());
        assertEquals(List.of(), sm.store().verify());
    }

    /**
     * What repairs found is kept across a restart (integrity-record): a block with no healthy copy
     * still degrades the replica after its node restarts, before anything reads it again (it read
     * "healthy" then), and the counters go on from where they were. Once a whole-block write has
     * replaced the block, the next start finds it healthy and forgets it.
     */
    @Test
    void knownBadBlocksAndTheCountersSurviveARestartUntilTheBlockIsRewritten() throws Exception {
        start();
        int f = follower();
        for (int i = 0; i < 3; i++) {
            cluster.rotBlock(i, VOL, 5);
        }
        Await.result(cluster.nodes[f].scrub(VOL));
        IntegrityStatus before = integrity(f);
        assertEquals("degraded: 1 unrepairable block", before.condition(), before.toString());
        assertEquals(1, before.corruptBlocksFound(), before.toString());

        cluster.stop(f);
        cluster.start(f);
        Await.await(() -> statusOrNull(f) != null, "n" + f + "'s replica is back");
        IntegrityStatus after = integrity(f);
        assertEquals(before.condition(), after.condition(), "known after the restart, nothing read it: " + after);
        assertEquals(List.of(before.corruptBlocksFound(), before.blocksRepaired(), before.unrepairableFound()),
                List.of(after.corruptBlocksFound(), after.blocksRepaired(), after.unrepairableFound()));

        byte[] fresh = new byte[B];
        Arrays.fill(fresh, (byte) 9);
        Await.result(handle.write(5L * B, ByteBuffer.wrap(fresh), false));
        cluster.awaitConverged(VOL);
        cluster.stop(f);
        cluster.start(f);
        Await.await(() -> statusOrNull(f) != null, "n" + f + "'s replica is back");
        IntegrityStatus healed = integrity(f);
        assertEquals("healthy", healed.condition(), "rewritten, found healthy at start: " + healed);
        assertEquals(before.unrepairableFound(), healed.unrepairableFound(), "the counters are history, kept");
    }

    private IntegrityStatus statusOrNull(int node) {
        try {
            return integrity(node);
        } catch (RuntimeException e) {
            return null; // the group is still starting
        }
    }

    /** A partial write into a block bad on one follower still applies there; a scrub then repairs the block. */
    @Test
    void aPartialWriteIntoABlockBadOnAFollowerAppliesAndTheScrubRepairsIt() throws Exception {
        start();
        int f = follower();
        cluster.rotBlock(f, VOL, 4);
        byte[] patch = new byte[512];
        Arrays.fill(patch, (byte) 0x33);
        Await.result(handle.write(4L * B + 1024, ByteBuffer.wrap(patch), false));
        cluster.awaitConverged(VOL); // the follower applied it (before, a CORRUPTION here stopped its group)
        assertEquals(List.of(4L), cluster.nodes[f].stateMachine(VOL).store().verify());
        Await.result(cluster.nodes[f].scrub(VOL));
        assertEquals(1, integrity(f).blocksRepaired());
        byte[] expected = Arrays.copyOf(data, 8 * B);
        System.arraycopy(patch, 0, expected, 4 * B + 1024, patch.length);
        assertArrayEquals(expected, Arrays.copyOf(cluster.content(f, VOL), 8 * B));
        assertArrayEquals(cluster.content(leader, VOL), cluster.content(f, VOL));
    }

    /**
     * The race the repair guard exists for: a follower fetches block 4 at version 1, then applies
     * version 2 of that block before writing the fetched copy. Writing it would leave the follower
     * at version 1 for good; the repair must notice and fetch again.
     */
    @Test
    void aFetchedCopyOlderThanAWriteAppliedMeanwhileIsNotWritten() throws Exception {
        start();
        int f = follower();
        VolumeStateMachine sm = cluster.nodes[f].stateMachine(VOL);
        cluster.rotBlock(f, VOL, 4);
        byte[] v2 = new byte[B];
        Arrays.fill(v2, (byte) 0x5c);
        AtomicBoolean once = new AtomicBoolean();
        sm.repairer.afterFetch = () -> {
            if (once.compareAndSet(false, true)) {
                Await.result(handle.write(4L * B, ByteBuffer.wrap(v2), false));
                cluster.awaitConverged(VOL); // the follower has applied version 2
            }
        };
        int left;
        try (RaftClient client = sm.repairer.newClient()) {
            left = sm.repairer.repairRange(client, 0, SIZE / B, "test");
        }
        assertTrue(once.get(), "the hook ran");
        assertEquals(0, left);
        assertArrayEquals(v2, Arrays.copyOfRange(cluster.content(f, VOL), 4 * B, 5 * B),
                "the follower holds version 2, not the older copy fetched before it applied version 2");
        assertArrayEquals(cluster.content(leader, VOL), cluster.content(f, VOL));
        assertEquals(1, integrity(f).blocksRepaired());
    }

    /**
     * A diskless frontend reads through the leader's replica (a query carrying its writer epoch).
     * A block bad there is repaired from a peer before the answer, as a local frontend's read
     * would be: the frontend gets the good bytes, not an I/O error while two good copies exist.
     */
    @Test
    void aDisklessFrontendsReadOfABlockBadOnTheLeaderGetsTheGoodBytesAndTheLeaderRepairsIt() throws Exception {
        cluster = new TestCluster(tmp, 4, 100_000);
        cluster.nodes[0].createReplicaGroup(VOL, SIZE, cluster.peers(0, 1, 2));
        handle = cluster.nodes[3].openRemoteVolume(VOL, cluster.peers(0, 1, 2), 1);
        data = new byte[8 * B];
        new Random(42).nextBytes(data);
        Await.result(handle.write(0, ByteBuffer.wrap(data), false));
        cluster.assertReplicasIdentical(VOL, 0, 1, 2);
        leader = cluster.leader(VOL);
        cluster.rotBlock(leader, VOL, 6);

        assertArrayEquals(data, read(0, 8 * B), "the good bytes through the diskless frontend");
        IntegrityStatus s = integrity(leader);
        assertEquals(1, s.corruptBlocksFound(), s.toString());
        assertEquals(1, s.blocksRepaired(), s.toString());
        assertEquals(List.of(), cluster.nodes[leader].stateMachine(VOL).store().verify(), "repaired on the leader's disk");
    }

    /**
     * A follower's scrub asks the leader first for a block bad on both: the leader answers that its
     * copy fails too (the follower takes the third replica's), and repairs its own copy with nobody
     * reading it, instead of keeping it bad until its next read or scrub.
     */
    @Test
    void aBadBlockNoticedWhileServingAPeersRepairIsRepairedThereToo() throws Exception {
        start();
        int f = follower();
        cluster.rotBlock(f, VOL, 4);
        cluster.rotBlock(leader, VOL, 4);

        Await.result(cluster.nodes[f].scrub(VOL));
        assertEquals(1, integrity(f).blocksRepaired(), integrity(f).toString());
        Await.await(() -> integrity(leader).blocksRepaired() == 1, "the leader repairs the block it was asked for");
        assertEquals(List.of(), cluster.nodes[leader].stateMachine(VOL).store().verify());
        assertEquals(1, integrity(f).corruptBlocksFound(), "counted once on the follower, though the leader's own repair "
                + "may have asked it for the block too");
        cluster.assertReplicasIdentical(VOL);
    }
    /**
     * A wiped follower is rebuilt by block copy from the leader, whose copy of one block is bad:
     * the copy's read of it fails, the leader repairs that block from the third replica on its
     * own, and the rebuild, asked again, completes with every replica identical. (Before, the
     * rebuild failed for as long as nothing read or scrubbed that block on the leader.)
     */
    @Test
    void aRebuildFromALeaderWithABadBlockCompletesOnceTheLeaderRepairedItOnItsOwn() throws Exception {
        start();
        int f = follower();
        cluster.wipe(f);
        byte[] more = new byte[B];
        for (int i = 0; i < 400; i++) { // one entry each: closed log segments the snapshot below lets go
            new Random(i).nextBytes(more);
            Await.result(handle.write((16L + i) * B, ByteBuffer.wrap(more), false));
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] != null) {
                cluster.nodes[i].takeSnapshot(VOL);
            }
        }
        Await.result(handle.write(0, ByteBuffer.wrap(data, 0, B), false));
        cluster.rotBlock(leader, VOL, 5);

        cluster.start(f);
        cluster.nodes[f].joinGroup(VOL, cluster.peers());
        Await.await(() -> integrity(leader).blocksRepaired() == 1, 60, "the leader repairs the block the copy could not read");
        Await.await(() -> cluster.nodes[f].status(VOL).rebuildBytesDone() == SIZE && !cluster.nodes[f].stateMachine(VOL).rebuilding(),
                60, "the rebuild by block copy completes");
        cluster.assertReplicasIdentical(VOL);
    }
}
