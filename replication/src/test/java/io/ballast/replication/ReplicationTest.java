package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.rebuild.BlockCopier;
import io.ballast.replication.rebuild.RebuildHandover;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Replication, failover, fencing, restart/rebuild and bad input over a 3-node in-process cluster. */
class ReplicationTest {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicationTest.class);
    private static final int B = 4096;
    private static final long SIZE = 4L << 20;

    @TempDir
    Path tmp;
    TestCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private ReplicatedBlockVolume create(String name, long snapshotEvery) throws Exception {
        cluster = new TestCluster(tmp, 3, snapshotEvery);
        cluster.nodes[0].createReplicaGroup(name, SIZE, cluster.peers());
        return cluster.nodes[cluster.leader(name)].openVolume(name, 1);
    }

    private static byte[] block(long seed) {
        byte[] b = new byte[B];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw BallastException.of(e);
        }
    }

    private void assertReplicasIdentical(String name) {
        cluster.awaitConverged(name);
        byte[] ref = null;
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] == null) {
                continue;
            }
            assertEquals(List.of(), cluster.nodes[i].stateMachine(name).store().verify(), "checksums on node " + i);
            byte[] c = cluster.content(i, name);
            if (ref == null) {
                ref = c;
            } else {
                assertArrayEquals(ref, c, "node " + i + " differs");
            }
        }
    }

    @Test
    void writesReachEveryReplicaAndGroupCommitThroughput() throws Exception {
        ReplicatedBlockVolume v = create("rep", 100_000);
        int n = 2000;
        int qd = 32;
        List<CompletableFuture<Void>> inflight = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            if (inflight.size() >= qd) {
                await(inflight.remove(0));
            }
            inflight.add(v.write((long) (i % (SIZE / B)) * B, ByteBuffer.wrap(block(i)), false));
        }
        inflight.forEach(ReplicationTest::await);
        double secs = (System.nanoTime() - t0) / 1e9;
        LOG.info("4k writes QD{} through group commit, 3 replicas: {} writes in {} s = {} IOPS, {} requests/entry",
                qd, n, String.format("%.2f", secs), (long) (n / secs),
                String.format("%.1f", (double) v.requestsSent() / v.entriesSent()));
        assertReplicasIdentical("rep");
        byte[] last = new byte[B];
        await(v.read((long) ((n - 1) % (SIZE / B)) * B, ByteBuffer.wrap(last)));
        assertArrayEquals(block(n - 1), last);
        v.close();
    }

    private static byte[] bytes(long seed, int n) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    /**
     * Writes of 512 KiB go to the entry journal beside the log (4 KiB ones stay in the log): a
     * follower away catches up (the leader sends their data from its cache or journal), a restart of
     * every node replays them from the journals, and a new leader serves them.
     */
    @Test
    void largeWritesLiveInTheJournalThroughCatchUpRestartAndFailover() throws Exception {
        // A log budget of 1 GiB: no checkpoint, so the journal keeps every entry.
        cluster = new TestCluster(tmp, 3, 100_000, c -> c.withLogBudgetMin(1L << 30));
        cluster.nodes[0].createReplicaGroup("big", SIZE, cluster.peers());
        ReplicatedBlockVolume v = cluster.nodes[cluster.leader("big")].openVolume("big", 1);
        int chunk = 512 << 10;
        byte[] expected = new byte[(int) SIZE];
        long seed = 0;
        // 9 rounds of 4 MiB while a follower is away: more than the leader's 32 MiB cache, so its
        // catch-up reads the oldest entries back from the leader's journal.
        for (int round = 0; round < 10; round++) {
            if (round == 1) {
                cluster.stop((cluster.leader("big") + 1) % 3);
            }
            for (int off = 0; off < SIZE; off += chunk) {
                byte[] b = bytes(++seed, chunk);
                System.arraycopy(b, 0, expected, off, chunk);
                await(v.write(off, ByteBuffer.wrap(b), false));
                byte[] small = block(++seed); // a log-carried entry between journaled ones
                System.arraycopy(small, 0, expected, off + B, B);
                await(v.write(off + B, ByteBuffer.wrap(small), false));
            }
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] == null) {
                cluster.start(i);
            }
        }
        assertReplicasIdentical("big");
        int leader = cluster.leader("big");
        VolumeStateMachine onLeader = cluster.nodes[leader].stateMachine("big");
        assertTrue(onLeader.journaledEntries() >= 8 * 10, "journaled entries on the leader");
        assertTrue(onLeader.journalReads() > 0, "the catch-up read entries back from the leader's journal");
        v.close();

        for (int i = 0; i < 3; i++) {
            cluster.stop(i);
        }
        for (int i = 0; i < 3; i++) {
            cluster.start(i);
        }
        // An attach commits in the new term, and with it everything before: replay must get there.
        cluster.nodes[cluster.leader("big")].openVolume("big", 2).close();
        assertReplicasIdentical("big");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected, cluster.content(i, "big"), "node " + i + " after replaying its log and journal");
        }
        int old = cluster.leader("big");
        cluster.stop(old);
        ReplicatedBlockVolume after = cluster.nodes[cluster.leader("big")].openVolume("big", 3);
        byte[] b = bytes(++seed, chunk);
        await(after.write(0, ByteBuffer.wrap(b), true));
        byte[] back = new byte[chunk];
        await(after.read(0, ByteBuffer.wrap(back)));
        assertArrayEquals(b, back);
        after.close();
        cluster.start(old);
        assertReplicasIdentical("big");
    }

    /**
     * Snapshots come every few MiB of log too, not only every N entries, so the log and the entry
     * journal are purged and recycled under large writes (1 GiB by default; 2 MiB here).
     */
    @Test
    void aBytesWorthOfLargeWritesTriggersASnapshotAndTheJournalIsRecycled() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000, c -> c.withLogBudgetMin(0));
        cluster.nodes[0].createReplicaGroup("purge", SIZE, cluster.peers());
        ReplicatedBlockVolume v = cluster.nodes[cluster.leader("purge")].openVolume("purge", 1);
        int chunk = 512 << 10;
        for (int i = 0; i < 160; i++) { // 80 MiB: 160 journaled entries, 5 MiB of 32 KiB references
            await(v.write((long) i * chunk % SIZE, ByteBuffer.wrap(bytes(i, chunk)), false));
        }
        assertReplicasIdentical("purge");
        for (int i = 0; i < 3; i++) {
            VolumeStateMachine sm = cluster.nodes[i].stateMachine("purge");
            int node = i;
            Await.await(() -> sm.getLatestSnapshot() != null && sm.division().getRaftLog().getStartIndex() > 0,
                    "node " + node + " snapshotted and purged");
            assertTrue(sm.journaledEntries() < 160, "node " + i + " journal recycled: " + sm.journaledEntries() + " entries");
        }
        v.close();
    }

    /**
     * StuckLogWatchdog's last way out for a follower Ratis cannot resume: its division is re-created
     * empty (Raft log, journal and checkpoints gone, blocks kept), the leader, whose log was purged,
     * has it rebuilt by block copy, and it ends identical while writes go on.
     */
    @Test
    void aReplicaReCreatedEmptyIsRebuiltFromTheLeaderByBlockCopy() throws Exception {
        cluster = new TestCluster(tmp, 3, 20); // 1 MiB segments: the log is purged behind every snapshot
        cluster.nodes[0].createReplicaGroup("afresh", SIZE, cluster.peers());
        ReplicatedBlockVolume v = cluster.nodes[cluster.leader("afresh")].openVolume("afresh", 1);
        for (int i = 0; i < 600; i++) {
            await(v.write((long) i * B, ByteBuffer.wrap(block(i)), false));
        }
        int f = (cluster.leader("afresh") + 1) % 3;
        var gid = VolumeStateMachine.groupIdOf("afresh");
        Await.await(() -> cluster.nodes[cluster.leader("afresh")].stateMachine("afresh").division().getRaftLog()
                .getStartIndex() > 1, "the leader purged its log");
        assertTrue(cluster.nodes[f].rejoinAfresh(gid, "test"));
        for (int i = 600; i < 660; i++) {
            await(v.write((long) i * B, ByteBuffer.wrap(block(i)), false));
        }
        Await.await(() -> cluster.nodes[f].status("afresh").rebuildBytesTotal() == SIZE, "rebuilt by block copy");
        long commit = cluster.nodes[cluster.leader("afresh")].status("afresh").commitIndex();
        Await.await(() -> { // RebuildHandover may reopen the division meanwhile: absent for a moment
            try {
                return cluster.nodes[f].status("afresh").appliedIndex() >= commit;
            } catch (io.ballast.engine.error.BallastException e) {
                return false;
            }
        }, "the re-created replica catches up to " + commit);
        assertReplicasIdentical("afresh");
        byte[] c = cluster.content(f, "afresh");
        for (int i = 0; i < 660; i++) {
            assertArrayEquals(block(i), Arrays.copyOfRange(c, i * B, i * B + B), "block " + i);
        }
        v.close();
    }

    @Test
    void entriesGoStraightToTheLocalLeaderElseThroughTheClient() throws Exception {
        ReplicatedBlockVolume onLeader = create("route", 100_000);
        for (int i = 0; i < 20; i++) {
            await(onLeader.write((long) i * B, ByteBuffer.wrap(block(i)), false));
        }
        assertEquals(onLeader.entriesSent(), onLeader.entriesSentLocally(), "attached on the leader: no gRPC hop");
        onLeader.close();

        int follower = (cluster.leader("route") + 1) % 3;
        ReplicatedBlockVolume onFollower = cluster.nodes[follower].openVolume("route", 2);
        for (int i = 20; i < 40; i++) {
            await(onFollower.write((long) i * B, ByteBuffer.wrap(block(i)), false));
        }
        assertEquals(0, onFollower.entriesSentLocally(), "attached on a follower: entries go to the leader via the client");
        assertTrue(onFollower.entriesSent() > 0);
        assertReplicasIdentical("route");
        byte[] c = cluster.content(follower, "route");
        for (int i = 0; i < 40; i++) {
            assertArrayEquals(block(i), Arrays.copyOfRange(c, i * B, i * B + B), "block " + i);
        }
        onFollower.close();
    }

    @Test
    void sparseRebuildQueryAnswersZeroRangesEmptyAndDataInFull() throws Exception {
        ReplicatedBlockVolume v = create("sparse", 100_000);
        await(v.write(BlockCopier.CHUNK, ByteBuffer.wrap(block(9)), false)); // second chunk: one block of data
        int leader = cluster.leader("sparse");
        var peer = org.apache.ratis.protocol.RaftPeerId.valueOf(cluster.nodes[leader].nodeId());
        try (RaftClient raw = cluster.nodes[leader].clientFor("sparse")) {
            ByteBuffer zero = raw.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryRead(
                    0, BlockCopier.CHUNK, VolumeLogLayout.FLAG_SPARSE))), 0, peer).getMessage().getContent().asReadOnlyByteBuffer();
            assertEquals(0, zero.remaining(), "an all-zero chunk crosses the network as an empty reply");
            ByteBuffer data = raw.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryRead(
                    BlockCopier.CHUNK, BlockCopier.CHUNK, VolumeLogLayout.FLAG_SPARSE))), 0, peer).getMessage().getContent().asReadOnlyByteBuffer();
            assertEquals(BlockCopier.CHUNK, data.remaining());
            byte[] first = new byte[B];
            data.get(first);
            assertArrayEquals(block(9), first);
            ByteBuffer plain = raw.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryRead(
                    0, BlockCopier.CHUNK))), 0, peer).getMessage().getContent().asReadOnlyByteBuffer();
            assertEquals(BlockCopier.CHUNK, plain.remaining(), "without the flag, zeroes are sent (read repair relies on it)");
        }
        v.close();
    }

    @Test
    void leaderFailoverLosesNoAcknowledgedWrite() throws Exception {
        ReplicatedBlockVolume v = create("fo", 100_000);
        int leader = cluster.leader("fo");
        Map<Long, Long> acked = new ConcurrentHashMap<>(); // block -> seed
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (long blk = 0; blk < 200; blk++) {
            long b = blk;
            fs.add(v.write(b * B, ByteBuffer.wrap(block(b)), false).thenRun(() -> acked.put(b, b)));
            if (blk == 100) {
                cluster.stop(leader); // mid-stream
            }
        }
        for (CompletableFuture<Void> f : fs) {
            try {
                f.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                // unacknowledged: may or may not have landed
            }
        }
        v.close();
        int survivor = (leader + 1) % 3;
        long t0 = System.nanoTime();
        ReplicatedBlockVolume v2 = cluster.nodes[survivor].openVolume("fo", 2);
        for (long blk = 200; blk < 300; blk++) {
            await(v2.write(blk * B, ByteBuffer.wrap(block(blk)), false));
            acked.put(blk, blk);
        }
        LOG.info("failover: new handle attached and wrote 100 blocks {} ms after the leader stopped; {} of the first 200 acked",
                (System.nanoTime() - t0) / 1_000_000, acked.keySet().stream().filter(b -> b < 200).count());
        assertReplicasIdentical("fo");
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] != null) {
                byte[] c = cluster.content(i, "fo");
                for (long b : acked.keySet()) {
                    assertArrayEquals(block(b), Arrays.copyOfRange(c, (int) (b * B), (int) (b * B + B)), "node " + i + " block " + b);
                }
            }
        }
        v2.close();
    }

    @Test
    void aGroupThatHasNotAppliedItsCreateIsStillFoundAndRemoved() throws Exception {
        // The state a fast create+delete met on one node (issue 14): the group runs there, but the
        // CREATE entry that names the volume has not been applied (here: never sent).
        cluster = new TestCluster(tmp, 1, 100_000);
        RaftNode node = cluster.nodes[0];
        node.joinGroup("early", cluster.peers());
        assertTrue(node.hostsGroup("early"), "the group runs here");
        assertFalse(node.groups().contains("early"), "but has no name yet");
        node.removeGroup("early");
        assertFalse(node.hostsGroup("early"), "removed by its id");
        assertFalse(node.hostsGroup("never-created"));
    }

    @Test
    void laterHandleFencesEarlierOne() throws Exception {
        ReplicatedBlockVolume a = create("fence", 100_000);
        await(a.write(0, ByteBuffer.wrap(block(1)), false));
        ReplicatedBlockVolume b = cluster.nodes[cluster.leader("fence")].openVolume("fence", 2);
        BallastException e = assertThrows(BallastException.class, () -> await(a.write(B, ByteBuffer.wrap(block(2)), false)));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code(), e.getMessage());
        // Reads are fenced like writes: the superseded handle answers none, and says it is fenced.
        assertTrue(a.fenced(), "the superseded handle knows it");
        BallastException read = assertThrows(BallastException.class, () -> await(a.read(0, ByteBuffer.allocate(B))));
        assertEquals(ErrorCode.FAILED_PRECONDITION, read.code(), read.getMessage());
        assertFalse(b.fenced());
        ByteBuffer back = ByteBuffer.allocate(B);
        await(b.read(0, back));
        assertArrayEquals(block(1), back.array(), "the new writer reads through its own fence");
        assertTrue(b.fenceRounds() >= 1, "reads go through fence rounds");
        await(b.write(2L * B, ByteBuffer.wrap(block(3)), false));
        BallastException stale = assertThrows(BallastException.class,
                () -> cluster.nodes[0].openVolume("fence", 2));
        assertEquals(ErrorCode.FAILED_PRECONDITION, stale.code());
        assertReplicasIdentical("fence");
        byte[] c = cluster.content(0, "fence");
        assertArrayEquals(block(1), Arrays.copyOfRange(c, 0, B));
        assertArrayEquals(new byte[B], Arrays.copyOfRange(c, B, 2 * B), "fenced write must not land");
        assertArrayEquals(block(3), Arrays.copyOfRange(c, 2 * B, 3 * B));
        a.close();
        b.close();
    }

    @Test
    void restartedFollowerCatchesUpAndWipedFollowerIsRebuilt() throws Exception {
        ReplicatedBlockVolume v = create("rs", 100_000);
        int leader = cluster.leader("rs");
        int f = (leader + 1) % 3;
        for (long blk = 0; blk < 50; blk++) {
            await(v.write(blk * B, ByteBuffer.wrap(block(blk)), false));
        }
        cluster.stop(f);
        for (long blk = 50; blk < 100; blk++) {
            await(v.write(blk * B, ByteBuffer.wrap(block(blk)), false));
        }
        cluster.start(f); // catches up from the log
        assertReplicasIdentical("rs");

        cluster.wipe(f);
        for (long blk = 100; blk < 400; blk++) { // one entry each: several closed log segments
            await(v.write(blk * B, ByteBuffer.wrap(block(blk)), false));
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] != null) {
                cluster.nodes[i].takeSnapshot("rs");
            }
        }
        await(v.write(400L * B, ByteBuffer.wrap(block(400)), false)); // a write after the snapshot too
        cluster.start(f);
        cluster.nodes[f].joinGroup("rs", cluster.peers());
        Await.await(() -> cluster.nodes[f].groups().contains("rs"), "rebuilt replica appears");
        assertReplicasIdentical("rs");
        GroupStatus st = cluster.nodes[f].status("rs");
        LOG.info("rebuilt follower status: {}", st);
        assertEquals(SIZE, st.rebuildBytesTotal(), "rebuilt by block copy, not by log replay");
        assertEquals(SIZE, st.rebuildBytesDone());
        v.close();
    }

    @Test
    void aTornLastLogEntryIsDroppedAtRestartAndTheReplicaCatchesUp() throws Exception {
        ReplicatedBlockVolume v = create("torn", 100_000);
        int f = (cluster.leader("torn") + 1) % 3;
        for (long blk = 0; blk < 20; blk++) {
            await(v.write(blk * B, ByteBuffer.wrap(block(blk)), false));
        }
        cluster.awaitConverged("torn");
        cluster.stop(f);
        // As after a kill -9 in the middle of writing one more entry (one never acknowledged): its
        // bytes are in the file up to the checksum, which still reads as the preallocation's zeroes.
        Path segment;
        try (var files = Files.walk(tmp.resolve("node" + f))) {
            segment = files.filter(p -> p.getFileName().toString().startsWith("log_inprogress_")).findFirst().orElseThrow();
        }
        byte[] log = Files.readAllBytes(segment);
        int pos = 8; // "RaftLog1"
        int lastStart = -1;
        while (pos < log.length && log[pos] != 0) { // entries: varint length, entry, 4-byte checksum; then zero fill
            lastStart = pos;
            int len = 0;
            int shift = 0;
            byte b;
            do {
                b = log[pos++];
                len |= (b & 0x7f) << shift;
                shift += 7;
            } while (b < 0);
            pos += len + 4;
        }
        assertTrue(lastStart > 0, "the segment holds entries: " + segment);
        int entryBytes = pos - lastStart;
        byte[] torn = java.util.Arrays.copyOf(log, Math.max(log.length, pos + entryBytes));
        System.arraycopy(log, lastStart, torn, pos, entryBytes - 4); // checksum left zero
        Files.write(segment, torn);

        cluster.start(f); // Ratis's default policy refused to start here
        for (long blk = 20; blk < 40; blk++) {
            await(v.write(blk * B, ByteBuffer.wrap(block(blk)), false));
        }
        assertReplicasIdentical("torn");
        v.close();
    }

    @Test
    void badInputIsRefusedAndChangesNothing() throws Exception {
        ReplicatedBlockVolume v = create("bad", 100_000);
        await(v.write(0, ByteBuffer.wrap(block(7)), false));
        cluster.awaitConverged("bad");
        int leader = cluster.leader("bad");
        long committed = cluster.nodes[leader].status("bad").commitIndex();
        byte[] before = cluster.content(leader, "bad");
        try (RaftClient raw = cluster.nodes[leader].clientFor("bad")) {
            ByteBuffer outOfRange = VolumeLogLayout.ops(1, List.of(
                    new VolumeLogLayout.Op(VolumeLogLayout.OP_WRITE, (byte) 0, SIZE - 1, 2, ByteBuffer.allocate(2))));
            assertRefused(raw, outOfRange, ErrorCode.OUT_OF_RANGE);
            ByteBuffer corrupt = VolumeLogLayout.ops(1, List.of(
                    new VolumeLogLayout.Op(VolumeLogLayout.OP_WRITE, (byte) 0, 0, 4, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}))));
            corrupt.put(VolumeLogLayout.HEADER + VolumeLogLayout.RECORD_HEADER, (byte) 9); // flip payload
            assertRefused(raw, corrupt, ErrorCode.CORRUPTION);
        }
        assertEquals(committed, cluster.nodes[leader].status("bad").commitIndex(), "nothing appended");
        assertReplicasIdentical("bad");
        assertArrayEquals(before, cluster.content(leader, "bad"));
        v.close();
    }

    private static void assertRefused(RaftClient raw, ByteBuffer entry, ErrorCode code) throws Exception {
        BallastException e;
        try {
            RaftClientReply r = raw.io().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(entry)));
            e = RatisErrors.of(r, "raw");
        } catch (java.io.IOException ex) { // the blocking API throws the StateMachineException
            e = RatisErrors.map(ex, "raw");
        }
        assertTrue(e != null, "refused");
        assertEquals(code, e.code(), e.getMessage());
    }
}
