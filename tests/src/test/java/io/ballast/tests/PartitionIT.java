package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.proto.v1.ReplicaStatus;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.TestDirs;
import io.ballast.tests.net.LabCluster;
import io.ballast.tests.net.NetworkLab;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real network partitions (a {@link NetworkLab}: one namespace per node, nftables drops) around
 * a 3-replica volume attached on n1:
 * <ol>
 *   <li>a follower cut off falls behind, and after the partition heals catches up from the
 *       leader's log (no snapshot install, no full rebuild);</li>
 *   <li>the frontend cut off alone (a minority, and the leader) never acknowledges a write, the
 *       majority elects a new leader, and after the heal I/O through the frontend works again;</li>
 *   <li>at the end all replicas hold byte-identical data.</li>
 * </ol>
 *
 * <p>Admin APIs listen on the lab addresses, which exist only inside the namespaces; the test
 * reaches each through a {@link HostPortForward} (loopback port in the root namespace, Unix
 * socket, agent inside the node's own namespace), so it can query even an isolated node. The NBD
 * socket is a file and is reached directly.
 */
class PartitionIT {
    private static final String VOLUME = "part";
    private static final long SIZE = 64L << 20;
    private static final int MIB = 1 << 20;
    private static final int BLOCK = 4096;
    /** Phase 1 writes this much (1 MiB requests) while n3 is cut off. */
    private static final int BEHIND_MIB = 32;
    /** Phase 2: the block written through the isolated frontend, and the one written after the heal. */
    private static final long MINORITY_BLOCK = 40L << 20;
    private static final long AFTER_HEAL_BLOCK = 41L << 20;
    /** Lines a follower logs when it is rebuilt from a snapshot instead of catching up from the log. */
    private static final Pattern REBUILD = Pattern.compile("(?i)installsnapshot|rebuilding from it|rebuild from \\S+ done");

    private LabCluster cluster;
    /** Failures that should not stop the rest of the test from running; reported at its end. */
    private final List<String> problems = new ArrayList<>();

    @BeforeAll
    static void support() {
        NetworkLab.requireSupport();
    }

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void partitionedReplicasCatchUpFromTheLogAndAMinorityNeverAcknowledges() throws Exception {
        long t0 = System.nanoTime();
        Path dir = TestDirs.fresh("partition");
        cluster = LabCluster.start(dir, 3, "part");
        // Creating the group on three fresh JVMs takes seconds on a busy 2-core machine.
        String uri = cluster.createAndAttach(VOLUME, SIZE, 0);
        assertTrue(uri.startsWith("nbd+unix:///" + VOLUME), uri);
        cluster.moveLeadershipTo(VOLUME, 0, 30);
        long setupMs = msSince(t0);

        // ---- 1. a cut-off follower falls behind, then catches up from the log -------------------
        long t1 = System.nanoTime();
        long before = cluster.awaitConverged(VOLUME, 30); // before isolating n3
        cluster.lab().isolate(2);
        byte[] mib = filled(MIB, 0x5a);
        try (RawNbdClient c = RawNbdClient.connect(cluster.node(0).socket()).handshake(VOLUME)) {
            assertEquals(SIZE, c.exportSize());
            for (int m = 0; m < BEHIND_MIB; m++) {
                c.request(0, RawNbdClient.CMD_WRITE, m, (long) m * MIB, MIB, mib);
                RawNbdClient.Reply r = c.reply(0);
                assertEquals(0, r.error(), "write of MiB " + m + " with n1+n2 (n3 isolated) failed");
            }
        }
        ReplicaStatus n1 = replica(0);
        ReplicaStatus n3 = replica(2);
        System.out.printf("partition: n3 isolated: n1 commit %d, n3 commit %d applied %d (before: %d)%n",
                n1.getCommitIndex(), n3.getCommitIndex(), n3.getAppliedIndex(), before);
        assertTrue(n1.getCommitIndex() > before, "n1's commit index did not advance: " + n1);
        assertTrue(n3.getAppliedIndex() <= before && n3.getCommitIndex() <= before,
                "n3 applied or learned commits while it was isolated: " + n3 + " (before " + before + ")");
        long target = n1.getCommitIndex();
        long healed = System.nanoTime();
        cluster.lab().heal();
        long catchUpMs = awaitApplied(2, target, 15);
        System.out.printf("partition: n3 applied index %d %d ms after the heal%n", target, catchUpMs);
        String n3Log = cluster.node(2).logText();
        assertTrue(!REBUILD.matcher(n3Log).find(), "n3 was rebuilt from a snapshot instead of catching up from the log:\n"
                + grep(n3Log, REBUILD));
        // (n3's own line "asks for a snapshot install ... rebuilding from it" is the evidence of a
        // rebuild; the leader's Ratis INFO lines are no longer logged.)
        long phase1Ms = msSince(t1);

        // ---- 2. the frontend alone (a minority) never acknowledges a write ----------------------
        long t2 = System.nanoTime();
        cluster.moveLeadershipTo(VOLUME, 0, 30); // the interesting case: the isolated frontend is also the leader
        byte[] old = filled(BLOCK, 0x11);
        byte[] fresh = filled(BLOCK, 0x22);
        try (RawNbdClient c = RawNbdClient.connect(cluster.node(0).socket()).handshake(VOLUME)) {
            c.request(0, RawNbdClient.CMD_WRITE, 1, MINORITY_BLOCK, BLOCK, old);
            assertEquals(0, c.reply(0).error(), "write before the partition");
        }
        cluster.lab().isolate(0);
        // Read n1's commit index once the cut is in force: an entry that was in flight before it
        // (e.g. the new leader's first entry) may still commit in the first moments; none after.
        Thread.sleep(500);
        long minorityCommit = replica(0).getCommitIndex();
        RawNbdClient w = RawNbdClient.connect(cluster.node(0).socket()).handshake(VOLUME);
        long sent = System.nanoTime();
        w.request(0, RawNbdClient.CMD_WRITE, 2, MINORITY_BLOCK, BLOCK, fresh);
        CompletableFuture<TimedReply> pending = CompletableFuture.supplyAsync(() -> {
            try {
                RawNbdClient.Reply r = w.reply(0);
                return new TimedReply(r, System.nanoTime());
            } catch (IOException e) {
                return new TimedReply(null, System.nanoTime());
            }
        });
        // The majority elects a leader of its own while the write stays unacknowledged.
        String newLeader = null;
        long isolatedUntil = sent + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < isolatedUntil) {
            if (newLeader == null) {
                for (int i = 1; i < 3; i++) {
                    if (replica(i).getRole().equals("LEADER")) {
                        newLeader = id(i);
                        System.out.printf("partition: %s elected leader %d ms after n1 was isolated%n", newLeader, msSince(sent));
                    }
                }
            }
            assertNotAcknowledged(pending, Long.MAX_VALUE);
            Thread.sleep(200);
        }
        assertTrue(newLeader != null, "the majority (n2, n3) elected no leader within 10 s: n2 " + replica(1) + ", n3 " + replica(2));
        ReplicaStatus isolated = replica(0);
        System.out.println("partition: n1 after 10 s alone: " + isolated.getRole() + " commit " + isolated.getCommitIndex());
        assertTrue(isolated.getCommitIndex() <= minorityCommit, "n1 committed alone: " + isolated + " (was " + minorityCommit + ")");
        long healStart = System.nanoTime();
        cluster.lab().heal();
        // The write may now go through (the frontend keeps retrying for 25 s) or fail: both are
        // correct. What must never happen is a success reply from before the heal.
        TimedReply outcome;
        try {
            outcome = pending.get(45, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("the write sent to the isolated frontend got no reply at all 45 s after the heal");
            return;
        }
        assertNotAcknowledged(pending, healStart);
        boolean acked = outcome.reply() != null && outcome.reply().error() == 0;
        System.out.printf("partition: minority write completed %d ms after the heal: %s%n",
                (outcome.at() - healStart) / 1_000_000, outcome.reply() == null ? "connection closed"
                        : acked ? "acknowledged" : "error " + outcome.reply().error());
        w.close();
        try (RawNbdClient c = RawNbdClient.connect(cluster.node(0).socket()).handshake(VOLUME)) {
            byte[] got = readAfterHeal(c, MINORITY_BLOCK, BLOCK, healStart, "read of the minority block");
            if (acked) {
                assertArrayEquals(fresh, got, "a write acknowledged after the heal is not there");
            } else {
                assertTrue(Arrays.equals(old, got) || Arrays.equals(fresh, got),
                        "the block holds neither the old nor the unacknowledged new data");
            }
            byte[] next = filled(BLOCK, 0x33);
            c.request(0, RawNbdClient.CMD_WRITE, 3, AFTER_HEAL_BLOCK, BLOCK, next);
            assertEquals(0, c.reply(0).error(), "a write through n1 after the heal failed");
            assertArrayEquals(next, readAfterHeal(c, AFTER_HEAL_BLOCK, BLOCK, healStart, "read-after-write through n1"),
                    "read after write through n1 after the heal");
            assertArrayEquals(mib, readAfterHeal(c, 0, MIB, healStart, "read of phase 1 data"), "phase 1 data read through n1");
        }
        long phase2Ms = msSince(t2);

        // ---- 3. every replica byte-identical --------------------------------------------------
        long t3 = System.nanoTime();
        cluster.awaitConverged(VOLUME, 30);
        for (int i = 0; i < cluster.size(); i++) {
            cluster.node(i).stopCleanly();
        }
        Path first = dir.resolve("n1/volumes/" + VOLUME + "/data");
        for (int i = 1; i < 3; i++) {
            Path other = dir.resolve(id(i) + "/volumes/" + VOLUME + "/data");
            ExternalTool.Result cmp = ExternalTool.run(60, "cmp", first.toString(), other.toString());
            assertEquals(0, cmp.exitCode(), "replica " + id(i) + " differs from n1: " + cmp.stdout() + cmp.stderr());
        }
        System.out.printf("partition: setup %d ms, n3 caught up %d ms after the heal (phase 1: %d ms), phase 2 %d ms,"
                + " final check %d ms, total %d ms%n", setupMs, catchUpMs, phase1Ms, phase2Ms, msSince(t3), msSince(t0));
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /**
     * One read through the frontend after the heal. A block device must serve it (slowly if need
     * be: the frontend retries writes for 25 s while the group has no quorum, and the kernel NBD
     * client waits 30 s), not fail it. A failed attempt is recorded as a problem; the read is then
     * retried so the rest of the test still checks the data.
     */
    private byte[] readAfterHeal(RawNbdClient c, long offset, int length, long healStart, String what) throws Exception {
        long start = System.nanoTime();
        try {
            return c.read(offset, length);
        } catch (IOException first) {
            long failedMs = msSince(start);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
            while (true) {
                Thread.sleep(200);
                try {
                    byte[] data = c.read(offset, length);
                    problems.add(what + " issued " + (start - healStart) / 1_000_000 + " ms after the heal failed after "
                            + failedMs + " ms (" + first.getMessage() + "); the same read retried by the test succeeded "
                            + (System.nanoTime() - healStart) / 1_000_000 + " ms after the heal");
                    return data;
                } catch (IOException again) {
                    if (System.nanoTime() > deadline) {
                        fail(what + " through n1 still fails " + msSince(healStart) + " ms after the heal: " + again.getMessage());
                    }
                }
            }
        }
    }

    /** A reply (null: the connection closed) and when it arrived (System.nanoTime). */
    private record TimedReply(RawNbdClient.Reply reply, long at) {
    }

    /** Fails if {@code pending} completed successfully (NBD error 0) before {@code before} (nanoTime). */
    private static void assertNotAcknowledged(CompletableFuture<TimedReply> pending, long before) {
        TimedReply r = pending.getNow(null);
        if (r != null && r.reply() != null && r.reply().error() == 0 && r.at() < before) {
            fail("the isolated frontend n1 (a minority of one) acknowledged a write");
        }
    }

    private static String id(int i) {
        return LabCluster.id(i);
    }

    /** Node {@code i}'s own view of the volume group (role, commit and applied index). */
    private ReplicaStatus replica(int i) {
        return cluster.replica(VOLUME, i);
    }

    /** Waits until node {@code i} applied {@code index}; returns how long that took (ms). */
    private long awaitApplied(int i, long index, int seconds) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
        ReplicaStatus s = null;
        while (System.nanoTime() < deadline) {
            try {
                s = replica(i);
                if (s.getAppliedIndex() >= index) {
                    return msSince(start);
                }
            } catch (StatusRuntimeException e) {
                // keep polling
            }
            Thread.sleep(50);
        }
        fail(id(i) + " did not apply index " + index + " within " + seconds + " s of the heal: " + s);
        return -1;
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static long msSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static String grep(String log, Pattern p) {
        StringBuilder sb = new StringBuilder();
        for (String line : log.split("\n")) {
            if (p.matcher(line).find() && sb.length() < 4000) {
                sb.append(line).append('\n');
            }
        }
        return sb.toString();
    }
}
