package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.rebuild.BlockCopier;
import io.ballast.replication.rebuild.RebuildHandover;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.TestBytes;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a replica gets back what it missed, over a 3-node in-process cluster: catch-up from the log
 * and the entry journal, restart and replay, checkpoints that recycle the journal, rebuild by block
 * copy (sparse), and a torn last log entry after a crash.
 */
class ReplicaRecoveryTest {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaRecoveryTest.class);
    private static final int B = TestBytes.BLOCK;
    private static final long SIZE = 4L << 20;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;

    private ReplicatedBlockVolume create(String name, long snapshotEvery) throws Exception {
        cluster = new TestCluster(tmp, 3, snapshotEvery);
        return cluster.createVolume(name, SIZE);
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
                byte[] b = TestBytes.of(++seed, chunk);
                System.arraycopy(b, 0, expected, off, chunk);
                Await.result(v.write(off, ByteBuffer.wrap(b), false));
                byte[] small = TestBytes.block(++seed); // a log-carried entry between journaled ones
                System.arraycopy(small, 0, expected, off + B, B);
                Await.result(v.write(off + B, ByteBuffer.wrap(small), false));
            }
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] == null) {
                cluster.start(i);
            }
        }
        cluster.assertReplicasIdentical("big");
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
        cluster.assertReplicasIdentical("big");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected, cluster.content(i, "big"), "node " + i + " after replaying its log and journal");
        }
        int old = cluster.leader("big");
        cluster.stop(old);
        ReplicatedBlockVolume after = cluster.nodes[cluster.leader("big")].openVolume("big", 3);
        byte[] b = TestBytes.of(++seed, chunk);
        Await.result(after.write(0, ByteBuffer.wrap(b), true));
        byte[] back = new byte[chunk];
        Await.result(after.read(0, ByteBuffer.wrap(back)));
        assertArrayEquals(b, back);
        after.close();
        cluster.start(old);
        cluster.assertReplicasIdentical("big");
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
            Await.result(v.write((long) i * chunk % SIZE, ByteBuffer.wrap(TestBytes.of(i, chunk)), false));
        }
        cluster.assertReplicasIdentical("purge");
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
     * A follower's division closed under its running server, as Ratis leaves one whose log worker
     * failed for good, is reopened by StuckLogWatchdog (no node restart) and catches up: every
     * replica ends identical, with the writes made while it was closed.
     */
    @Test
    void aFollowerDivisionClosedUnderItsRunningServerIsReopenedAndCatchesUp() throws Exception {
        ReplicatedBlockVolume v = create("closed", 100_000);
        for (int i = 0; i < 50; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        int f = (cluster.leader("closed") + 1) % 3;
        var division = cluster.nodes[f].stateMachine("closed").division();
        division.close();
        assertEquals(org.apache.ratis.util.LifeCycle.State.CLOSED, division.getInfo().getLifeCycleState());
        for (int i = 50; i < 100; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        awaitReopenedAndCaughtUp(f, "closed");
        cluster.assertReplicasIdentical("closed");
        byte[] c = cluster.content(f, "closed");
        for (int i = 0; i < 100; i++) {
            assertArrayEquals(TestBytes.block(i), Arrays.copyOfRange(c, i * B, i * B + B), "block " + i);
        }
        v.close();
    }

    /**
     * The same under a frontend: the leader's division closes while a handle is open on it. Writes
     * go on through the new leader; the watchdog reopens the division and the handle follows it, so
     * it reads every byte, its own later writes included, with no detach.
     */
    @Test
    void aLeaderDivisionClosedUnderAnOpenHandleIsReopenedAndTheHandleReadsThroughIt() throws Exception {
        ReplicatedBlockVolume v = create("closedlead", 100_000);
        int l = cluster.leader("closedlead");
        for (int i = 0; i < 50; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        var division = cluster.nodes[l].stateMachine("closedlead").division();
        division.close();
        for (int i = 50; i < 100; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        awaitReopenedAndCaughtUp(l, "closedlead");
        for (int i = 100; i < 120; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        for (int i = 0; i < 120; i++) {
            ByteBuffer got = ByteBuffer.allocate(B);
            Await.result(v.read((long) i * B, got));
            assertArrayEquals(TestBytes.block(i), got.array(), "block " + i + " read through the handle");
        }
        cluster.awaitConverged("closedlead");
        cluster.assertReplicasIdentical("closedlead");
        v.close();
    }

    /** Waits until node {@code n}'s closed division of {@code volume} is reopened and applies what the leader committed. */
    private void awaitReopenedAndCaughtUp(int n, String volume) {
        long commit = cluster.nodes[cluster.leader(volume)].status(volume).commitIndex();
        Await.await(() -> {
            try {
                return cluster.nodes[n].status(volume).appliedIndex() >= commit;
            } catch (BallastException e) {
                return false; // closed, or being reopened
            }
        }, 60, "node " + n + "'s closed replica of " + volume + " is reopened and applies " + commit);
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
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
        }
        int f = (cluster.leader("afresh") + 1) % 3;
        var gid = VolumeStateMachine.groupIdOf("afresh");
        Await.await(() -> cluster.nodes[cluster.leader("afresh")].stateMachine("afresh").division().getRaftLog()
                .getStartIndex() > 1, "the leader purged its log");
        assertTrue(cluster.nodes[f].rejoinAfresh(gid, "test"));
        for (int i = 600; i < 660; i++) {
            Await.result(v.write((long) i * B, ByteBuffer.wrap(TestBytes.block(i)), false));
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
        cluster.assertReplicasIdentical("afresh");
        byte[] c = cluster.content(f, "afresh");
        for (int i = 0; i < 660; i++) {
            assertArrayEquals(TestBytes.block(i), Arrays.copyOfRange(c, i * B, i * B + B), "block " + i);
        }
        v.close();
    }

    @Test
    void sparseRebuildQueryAnswersZeroRangesEmptyAndDataInFull() throws Exception {
        ReplicatedBlockVolume v = create("sparse", 100_000);
        Await.result(v.write(BlockCopier.CHUNK, ByteBuffer.wrap(TestBytes.block(9)), false)); // second chunk: one block of data
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
            assertArrayEquals(TestBytes.block(9), first);
            ByteBuffer plain = raw.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryRead(
                    0, BlockCopier.CHUNK))), 0, peer).getMessage().getContent().asReadOnlyByteBuffer();
            assertEquals(BlockCopier.CHUNK, plain.remaining(), "without the flag, zeroes are sent (read repair relies on it)");
        }
        v.close();
    }

    @Test
    void restartedFollowerCatchesUpAndWipedFollowerIsRebuilt() throws Exception {
        ReplicatedBlockVolume v = create("rs", 100_000);
        int leader = cluster.leader("rs");
        int f = (leader + 1) % 3;
        for (long blk = 0; blk < 50; blk++) {
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        cluster.stop(f);
        for (long blk = 50; blk < 100; blk++) {
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        cluster.start(f); // catches up from the log
        cluster.assertReplicasIdentical("rs");

        cluster.wipe(f);
        for (long blk = 100; blk < 400; blk++) { // one entry each: several closed log segments
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] != null) {
                cluster.nodes[i].takeSnapshot("rs");
            }
        }
        Await.result(v.write(400L * B, ByteBuffer.wrap(TestBytes.block(400)), false)); // a write after the snapshot too
        cluster.start(f);
        cluster.nodes[f].joinGroup("rs", cluster.peers());
        Await.await(() -> cluster.nodes[f].groups().contains("rs"), "rebuilt replica appears");
        cluster.assertReplicasIdentical("rs");
        GroupStatus st = cluster.nodes[f].status("rs");
        LOG.info("rebuilt follower status: {}", st);
        assertEquals(SIZE, st.rebuildBytesTotal(), "rebuilt by block copy, not by log replay");
        assertEquals(SIZE, st.rebuildBytesDone());
        v.close();
    }

    /**
     * As after a kill -9 in the middle of writing one more entry (one never acknowledged), in both
     * shapes it can take: {@code shortFile} false, the entry's bytes up to its checksum, which still
     * reads as preallocated zeroes; true, the file ends inside the entry (Ratis preallocates only
     * what a write needs, RaftServerSettings, so nothing may follow the bytes that reached the disk).
     */
    @ParameterizedTest(name = "file ends inside the entry: {0}")
    @ValueSource(booleans = {false, true})
    void aTornLastLogEntryIsDroppedAtRestartAndTheReplicaCatchesUp(boolean shortFile) throws Exception {
        ReplicatedBlockVolume v = create("torn", 100_000);
        int f = (cluster.leader("torn") + 1) % 3;
        for (long blk = 0; blk < 20; blk++) {
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        cluster.awaitConverged("torn");
        cluster.stop(f);
        Path segment;
        try (var files = Files.walk(tmp.resolve("node" + f))) {
            segment = files.filter(p -> p.getFileName().toString().startsWith("log_inprogress_")).findFirst().orElseThrow();
        }
        byte[] log = Files.readAllBytes(segment);
        int[] ends = entryBounds(log);
        int lastStart = ends[0];
        int pos = ends[1];
        assertTrue(lastStart > 0, "the segment holds entries: " + segment);
        int entryBytes = pos - lastStart;
        byte[] torn = java.util.Arrays.copyOf(log, shortFile ? pos + entryBytes / 2 : Math.max(log.length, pos + entryBytes));
        System.arraycopy(log, lastStart, torn, pos, shortFile ? entryBytes / 2 : entryBytes - 4); // checksum left zero
        Files.write(segment, torn);

        cluster.start(f); // Ratis's default policy refused to start here
        for (long blk = 20; blk < 40; blk++) {
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        cluster.assertReplicasIdentical("torn");
        v.close();
    }

    /**
     * Ratis preallocates no more of a segment than a write needs, so its fsyncs do not send zero
     * fill to the disk ahead of the entries that then overwrite it (every log byte went to the disk
     * twice with 2 MiB of fill ahead).
     */
    @Test
    void theOpenLogSegmentIsFilledNoFurtherThanItsEntries() throws Exception {
        ReplicatedBlockVolume v = create("fill", 100_000);
        for (long blk = 0; blk < 20; blk++) {
            Await.result(v.write(blk * B, ByteBuffer.wrap(TestBytes.block(blk)), false));
        }
        int leader = cluster.leader("fill");
        Path segment;
        try (var files = Files.walk(tmp.resolve("node" + leader))) {
            segment = files.filter(p -> p.getFileName().toString().startsWith("log_inprogress_"))
                    .max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow(); // the volume's, not the catalog's
        }
        byte[] log = Files.readAllBytes(segment);
        int end = entryBounds(log)[1];
        assertTrue(end > 20 * B, "the segment holds the 20 writes: " + end + " bytes");
        assertTrue(log.length - end < 4096, "fill beyond the last entry: " + (log.length - end) + " bytes");
        v.close();
    }

    /** {start of the last entry, end of the entries} of a Ratis log segment: varint length, entry, 4-byte checksum each. */
    private static int[] entryBounds(byte[] log) {
        int pos = 8; // "RaftLog1"
        int lastStart = -1;
        while (pos < log.length && log[pos] != 0) { // then zero fill, if any
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
        return new int[] {lastStart, pos};
    }
}
