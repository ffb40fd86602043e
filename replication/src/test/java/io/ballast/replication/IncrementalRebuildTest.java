package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.checkpoint.LogBudget;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.rebuild.CleanStopMark;
import io.ballast.replication.rebuild.RebuildHandover;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica that comes back behind the leader's purged log copies only the regions changed while
 * it was away; and a replica's Raft log plus entry journal stay within its byte budget while a
 * member is down, however much is written.
 */
class IncrementalRebuildTest {
    private static final Logger LOG = LoggerFactory.getLogger(IncrementalRebuildTest.class);
    private static final int B = 4096;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;

    @Test
    void aFollowerBackAfterThePurgeCopiesOnlyTheRegionsWrittenMeanwhile() throws Exception {
        long size = 16L << 20; // 64 regions of 256 KiB
        cluster = new TestCluster(tmp, 3, 100_000); // log budget 0: each checkpoint purges to its index
        cluster.nodes[0].createReplicaGroup("inc", size, cluster.peers());
        int leader = cluster.leader("inc");
        ReplicatedBlockVolume v = cluster.nodes[leader].openVolume("inc", 1);
        int chunk = 256 << 10;
        for (long off = 0; off < size; off += chunk) { // every region holds data
            Await.result(v.write(off, ByteBuffer.wrap(bytes(off, chunk)), false));
        }
        for (int r = 60; r < 62; r++) { // half a checkpoint interval (1 MiB here) past the last checkpoint
            Await.result(v.write((long) r * chunk, ByteBuffer.wrap(bytes(r + 500, chunk)), false));
        }
        int f = (leader + 1) % 3;
        cluster.awaitConverged("inc");
        // A clean stop: its last checkpoint is up to 1 MiB of entries behind, but the note it leaves
        // (CleanStopMark) says what its store holds, so only what it missed is copied.
        cluster.stop(f);
        long away = cluster.nodes[leader].status("inc").appliedIndex();
        // 3 MiB of entries while it is away (the log purges whole 1 MiB segments), all in regions 5
        // and 9 (region 9: one 4 KiB block).
        int piece = 64 << 10;
        for (int i = 0; i < 48; i++) {
            Await.result(v.write(5L * chunk + (long) (i % 4) * piece, ByteBuffer.wrap(bytes(1000 + i, piece)), false));
        }
        Await.result(v.write(9L * chunk + 3 * B, ByteBuffer.wrap(bytes(2000, B)), false));
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] != null) {
                cluster.nodes[i].takeSnapshot("inc");
            }
        }
        var leaderLog = cluster.nodes[leader].stateMachine("inc").division().getRaftLog();
        Await.await(() -> leaderLog.getStartIndex() > away + 1, "the leader purged past index " + away);
        cluster.start(f);
        Await.await(() -> rebuildTotal(f) > 0, "node " + f + " rebuilt from the leader");
        assertEquals(2L * chunk, rebuildTotal(f), "only regions 5 and 9 copied");
        Await.await(() -> rebuildDone(f) == 2L * chunk, "the copy finished");
        Await.result(v.write(20L * chunk, ByteBuffer.wrap(bytes(3000, B)), false)); // and it follows the log again
        assertIdentical("inc", size);
        v.close();
    }

    /**
     * A follower's own log may still be applying entries (received, known committed) when the
     * leader has purged past it and its rebuild starts copying. Such an entry, written after a
     * copied block, would put an older value back that no later entry corrects. From the copy's
     * start (BlockCopier calls copyStarts with the leader's applied index) those entries wait for
     * the copy: a failed copy lets them write as usual; a succeeded one leaves the store to the
     * copy, and no checkpoint or clean-stop mark claims them until Ratis reloads the replica.
     */
    @Test
    void entriesAtOrBelowARunningCopysStartWaitForItsOutcome() throws Exception {
        long size = 4L << 20;
        int len = 64 << 10;
        cluster = new TestCluster(tmp, 3, 100_000);
        cluster.nodes[0].createReplicaGroup("floor", size, cluster.peers());
        int leader = cluster.leader("floor");
        ReplicatedBlockVolume v = cluster.nodes[leader].openVolume("floor", 1);
        byte[] before = bytes(1, len);
        Await.result(v.write(0, ByteBuffer.wrap(before), false));
        cluster.awaitConverged("floor");
        int f = (leader + 1) % 3;
        VolumeStateMachine sm = cluster.nodes[f].stateMachine("floor");
        long checkpoints = checkpointFiles(f);

        // A copy that fails: the entry waits, then is applied as usual.
        sm.copyStarts(sm.appliedIndex() + 1_000); // as a copy from a leader 1,000 entries ahead
        long appliedBefore = sm.appliedIndex();
        Await.result(v.write(0, ByteBuffer.wrap(bytes(2, len)), false)); // committed by the other two
        Thread.sleep(500);
        assertEquals(appliedBefore, sm.appliedIndex(), "an entry below the copy's start was applied while the copy ran");
        assertArrayEquals(before, java.util.Arrays.copyOf(cluster.content(f, "floor"), len));
        assertEquals(-1, sm.takeSnapshot(), "a checkpoint while the copy runs");
        sm.copyEnded(false);
        cluster.awaitConverged("floor");
        assertIdentical("floor", size);

        // A copy that succeeds: the entry leaves the store to it; nothing claims it until a reload.
        byte[] copied = cluster.content(f, "floor");
        sm.copyStarts(sm.appliedIndex() + 1_000);
        Await.result(v.write(0, ByteBuffer.wrap(bytes(3, len)), false));
        sm.copyEnded(true);
        cluster.awaitConverged("floor"); // applied on f, without a store write
        assertArrayEquals(java.util.Arrays.copyOf(copied, len), java.util.Arrays.copyOf(cluster.content(f, "floor"), len),
                "an entry below a succeeded copy's start wrote the store");
        assertEquals(-1, sm.takeSnapshot(), "a checkpoint would claim the skipped entry is in the store");
        assertEquals(checkpoints, checkpointFiles(f));
        cluster.stop(f);
        assertTrue(CleanStopMark.read(tmp.resolve("node" + f).resolve("raft")
                .resolve(VolumeStateMachine.groupIdOf("floor").getUuid().toString()).resolve("sm").resolve("clean-stop")) < 0,
                "a clean-stop mark would claim the skipped entry is in the store");
        cluster.start(f); // replays the log from its last checkpoint, the skipped entry included
        assertIdentical("floor", size);
        v.close();
    }

    private long checkpointFiles(int node) throws IOException {
        Path sm = tmp.resolve("node" + node).resolve("raft")
                .resolve(VolumeStateMachine.groupIdOf("floor").getUuid().toString()).resolve("sm");
        try (var files = java.nio.file.Files.list(sm)) {
            return files.filter(p -> p.getFileName().toString().startsWith("snapshot.")).count();
        }
    }

    @Test
    void logAndJournalStayWithinTheBudgetWhileAFollowerIsDownThenItCatchesUpIncrementally() throws Exception {
        long budget = 48L << 20;
        long size = 32L << 20;
        cluster = new TestCluster(tmp, 3, 100_000, c -> c.withLogBudgetMin(budget));
        cluster.nodes[0].createReplicaGroup("bound", size, cluster.peers());
        int leader = cluster.leader("bound");
        ReplicatedBlockVolume v = cluster.nodes[leader].openVolume("bound", 1);
        int f = (leader + 1) % 3;
        cluster.stop(f); // Ratis alone would keep every entry for it
        int large = 512 << 10; // entry journal
        int small = 64 << 10; // in the log itself
        long written = 0;
        Random r = new Random(7);
        long maxSeen = 0;
        for (int i = 0; written < 4 * size; i++) {
            int len = i % 4 == 3 ? small : large;
            long off = (long) r.nextInt((int) ((size - len) / B)) * B;
            Await.result(v.write(off, ByteBuffer.wrap(bytes(i, len)), false));
            written += len;
            if (i % 16 == 0) {
                maxSeen = Math.max(maxSeen, maxLogSpace());
            }
        }
        cluster.awaitConverged("bound");
        maxSeen = Math.max(maxSeen, maxLogSpace());
        LogBudget b = cluster.nodes[leader].stateMachine("bound").logBudget();
        LOG.info("wrote {} MiB; largest Raft log + journal of a replica seen: {} MiB; budget {}", written >> 20,
                maxSeen >> 20, b);
        assertEquals(budget, b.total());
        assertTrue(maxSeen <= budget, "log + journal " + maxSeen + " bytes exceeds the budget of " + budget);
        cluster.start(f);
        Await.await(() -> rebuildTotal(f) > 0, "node " + f + " rebuilt from the leader");
        assertIdentical("bound", size);
        v.close();
    }

    /**
     * {@code du -s} of a directory the replica is writing: a file removed while du walks (a purged
     * segment, an old Ratis snapshot) makes du complain and exit 1, so that run is taken again.
     */
    private static long du(Path dir) throws IOException, InterruptedException {
        String out = "";
        for (int attempt = 0; attempt < 5; attempt++) {
            Process p = new ProcessBuilder("du", "-s", "-B1", dir.toString()).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return Long.parseLong(out.split("\\s+")[0]);
            }
        }
        throw new AssertionError("du " + dir + " failed 5 times: " + out);
    }

    /** The largest disk space (allocated blocks) of a running replica's Raft group directory. */
    private long maxLogSpace() throws IOException, InterruptedException {
        long max = 0;
        for (int i = 0; i < 3; i++) {
            if (cluster.nodes[i] == null) {
                continue;
            }
            Path dir = tmp.resolve("node" + i).resolve("raft").resolve(VolumeStateMachine.groupIdOf("bound").getUuid().toString());
            long used = du(dir);
            if (used > max && used > (44L << 20)) {
                Process all = new ProcessBuilder("du", "-a", "-B1", dir.toString()).redirectErrorStream(true).start();
                LOG.info("node {} group directory:\n{}", i, new String(all.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            max = Math.max(max, used);
        }
        return max;
    }

    private long rebuildTotal(int node) {
        try {
            return cluster.nodes[node].status(volumeOf(node)).rebuildBytesTotal();
        } catch (BallastException | NullPointerException e) {
            return 0; // not (yet) there
        }
    }

    private long rebuildDone(int node) {
        try {
            return cluster.nodes[node].status(volumeOf(node)).rebuildBytesDone();
        } catch (BallastException | NullPointerException e) {
            return 0;
        }
    }

    private String volumeOf(int node) {
        return cluster.nodes[node].groups().contains("inc") ? "inc" : "bound";
    }

    private void assertIdentical(String name, long size) {
        long commit = cluster.nodes[cluster.leader(name)].status(name).commitIndex();
        for (int i = 0; i < 3; i++) {
            int n = i;
            Await.await(() -> {
                try {
                    return cluster.nodes[n].status(name).appliedIndex() >= commit;
                } catch (BallastException e) {
                    return false; // RebuildHandover may reopen the division for a moment
                }
            }, "node " + n + " applies " + commit);
        }
        byte[] ref = cluster.content(0, name);
        assertEquals(size, ref.length);
        for (int i = 1; i < 3; i++) {
            assertArrayEquals(ref, cluster.content(i, name), "node " + i + " differs from node 0");
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(java.util.List.of(), cluster.nodes[i].stateMachine(name).store().verify(), "checksums on node " + i);
        }
    }

    private static byte[] bytes(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

}
