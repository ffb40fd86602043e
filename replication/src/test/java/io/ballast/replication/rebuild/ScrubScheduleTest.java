package io.ballast.replication.rebuild;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduled scrubs over a 3-node in-process cluster: a replica's bad block is found and repaired
 * one interval after the node first saw the replica, with nobody asking; the schedule's clock (the
 * last pass's end) survives a node restart; one pass runs at a time, the most overdue first; and a
 * pass stopped by a node stop goes on where it was. The schedule's clock is the test's, moved by
 * hand, and its checks are called directly.
 */
class ScrubScheduleTest {
    private static final int B = 4096;
    private static final Duration HOUR = Duration.ofHours(1);

    @TempDir
    Path tmp;
    TestCluster cluster;
    final List<ReplicatedBlockVolume> handles = new ArrayList<>();
    final List<ScrubSchedule> schedules = new ArrayList<>();
    final AtomicLong now = new AtomicLong(System.currentTimeMillis());

    @AfterEach
    void stop() {
        schedules.forEach(ScrubSchedule::close);
        handles.forEach(ReplicatedBlockVolume::close);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A volume whose first 8 blocks hold random data, on every node, converged. */
    private void volume(String name, long size) {
        ReplicatedBlockVolume h = cluster.createVolume(name, size);
        handles.add(h);
        byte[] data = new byte[8 * B];
        new Random(7).nextBytes(data);
        Await.result(h.write(0, ByteBuffer.wrap(data), false));
        cluster.awaitConverged(name);
    }

    private int follower(String volume) {
        return (cluster.leader(volume) + 1) % 3;
    }

    private ScrubSchedule schedule(int node, long bytesPerSecond) {
        var raft = cluster.nodes[node];
        ScrubSchedule s = new ScrubSchedule(new ScrubSchedule.Policy(HOUR, bytesPerSecond), raft::scrubs, now::get);
        schedules.add(s);
        return s;
    }

    /** So that a "not due" answer cannot come from a replica the node does not list yet. */
    private void assertScrubbable(int node, int replicas) {
        List<ReplicaScrub> scrubs = cluster.nodes[node].scrubs();
        assertEquals(replicas, scrubs.size());
        assertTrue(scrubs.stream().allMatch(ReplicaScrub::scrubbable));
    }

    private IntegrityStatus integrity(int node, String volume) {
        return cluster.nodes[node].status(volume).integrity();
    }

    @Test
    void aBadBlockIsRepairedOneIntervalAfterTheReplicaWasFirstSeenAndTheClockSurvivesARestart() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        volume("rot", 4L << 20);
        int f = follower("rot");
        cluster.rotBlock(f, "rot", 3);
        ScrubSchedule schedule = schedule(f, 0);
        now.set(System.currentTimeMillis()); // the replica was first seen (its record written) before this

        assertScrubbable(f, 1);
        assertEquals(Optional.empty(), schedule.check(), "a replica first seen now is due in an hour, not now");
        now.addAndGet(HOUR.toMillis() - 1000);
        assertEquals(Optional.empty(), schedule.check(), "a second short of an hour: not due yet");
        assertEquals(0, integrity(f, "rot").scrubsCompleted());

        now.addAndGet(2000);
        assertEquals(Optional.of("rot"), schedule.check());
        await(() -> integrity(f, "rot").scrubsCompleted() == 1, "the scheduled scrub ends");
        IntegrityStatus done = integrity(f, "rot");
        assertEquals(1, done.corruptBlocksFound(), "the flipped block was found");
        assertEquals(1, done.blocksRepaired(), "and repaired from a peer");
        assertEquals(now.get(), done.lastScrubCompletedMillis());
        assertEquals(Optional.empty(), schedule.check(), "just scrubbed: due again an hour from now");
        cluster.assertReplicasIdentical("rot");

        schedule.close();
        cluster.stop(f);
        cluster.start(f);
        await(() -> integrity(f, "rot").lastScrubCompletedMillis() == done.lastScrubCompletedMillis(),
                "the last scrub's end read back after the restart");
        ScrubSchedule restarted = schedule(f, 0);
        assertScrubbable(f, 1);
        assertEquals(Optional.empty(), restarted.check(), "a restart does not make the replica due");
        now.addAndGet(HOUR.toMillis());
        assertEquals(Optional.of("rot"), restarted.check(), "an hour after the last pass, it is due again");
        await(() -> integrity(f, "rot").scrubsCompleted() == 1, "the second scheduled scrub ends (counted since the restart)");
        assertEquals(now.get(), integrity(f, "rot").lastScrubCompletedMillis());
    }

    @Test
    void onePassAtATimeMostOverdueFirstAndAPassStoppedByANodeStopGoesOnWhereItWas() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        volume("first", 64L << 20);
        volume("second", 4L << 20); // first seen after "first": less overdue
        int f = follower("first");
        now.set(System.currentTimeMillis() + 2 * HOUR.toMillis());
        assertScrubbable(f, 2);

        // 16 MiB/s over 64 MiB: about 3.5 s (the pacer starts with a second's worth).
        ScrubSchedule schedule = schedule(f, 16L << 20);
        assertEquals(Optional.of("first"), schedule.check(), "the most overdue replica first");
        assertEquals(Optional.empty(), schedule.check(), "one pass at a time: 'second' waits");
        await(() -> integrity(f, "first").scrubBytesDone() >= 24L << 20, "the paced pass is under way");
        schedule.close(); // as at a node stop
        ReplicaScrub first = cluster.nodes[f].stateMachine("first").scrub;
        await(() -> !first.running(), "the pass stops with the schedule");
        long stoppedAt = first.record().resumeFromBytes();
        assertTrue(stoppedAt >= 24L << 20 && stoppedAt < 64L << 20, "the stop was noted: " + stoppedAt);
        assertEquals(0, first.record().lastCompletedMillis(), "a stopped pass is not a finished one");

        // A block the stopped pass had already verified goes bad: the pass that goes on from where it
        // stopped does not read it again (a pass from the start would find it).
        cluster.rotBlock(f, "first", 5);
        ScrubSchedule next = schedule(f, 0);
        assertEquals(Optional.of("first"), next.check(), "still the most overdue");
        await(() -> first.record().lastCompletedMillis() == now.get(), "the pass goes on to the end");
        assertEquals(0, first.record().resumeFromBytes());
        assertEquals(0, first.record().lastCorrupt(), "it went on from byte " + stoppedAt + ", past block 5");
        await(() -> next.check().equals(Optional.of("second")), "then the other replica's turn");
        await(() -> integrity(f, "second").lastScrubCompletedMillis() == now.get(), "its pass ends");

        Await.result(cluster.nodes[f].scrub("first")); // a full pass asked for covers the whole volume
        assertEquals(1, first.record().lastCorrupt(), "the full pass asked for finds block 5");
        assertEquals(1, integrity(f, "first").blocksRepaired());
    }

    @Test
    void theIntervalIsLoggedInTheUnitsAPersonSetItIn() {
        assertEquals("7 days", ScrubSchedule.readable(Duration.ofDays(7)));
        assertEquals("1 day", ScrubSchedule.readable(Duration.ofHours(24)));
        assertEquals("36 hours", ScrubSchedule.readable(Duration.ofHours(36)));
        assertEquals("90 min", ScrubSchedule.readable(Duration.ofMinutes(90)));
        assertEquals("15 s", ScrubSchedule.readable(Duration.ofSeconds(15)));
    }
}
