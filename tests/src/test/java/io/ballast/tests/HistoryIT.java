package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.TestDirs;
import io.ballast.tests.history.History;
import io.ballast.tests.history.HistoryClients;
import io.ballast.tests.history.HistoryOp;
import io.ballast.tests.history.RegisterChecker;
import io.ballast.tests.net.LabCluster;
import io.ballast.tests.net.NetworkLab;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Jepsen-style: clients record every block write (a unique value, FUA) and read with its
 * invocation and completion time, through the NBD frontend on n1, while the test injects faults
 * one at a time: kill -9 of any node (the Raft leader, the frontend's node, a follower) and a
 * restart, or a real network partition isolating any node (the leader or the frontend included).
 * Afterwards {@link RegisterChecker} verifies every block is linearizable: each read returned the
 * latest acknowledged write or one concurrent with it, no acknowledged write was lost, no read
 * returned data nobody wrote. A second test turns on a test-only switch that acknowledges writes
 * before they commit and shows the checker names the violating operations.
 *
 * <p>{@code -Dballast.history.cycles=N} sets the fault count (CI: 20; the long run in
 * docs/reliability.md: 100), {@code -Dballast.history.seed=S} replays a schedule. Needs root and
 * network namespaces (a {@link NetworkLab}).
 */
class HistoryIT {
    private static final String VOLUME = "hist";
    private static final long SIZE = 64L << 20;
    private static final int CLIENTS = 6;
    private static final int BLOCKS = 24;
    /** Blocks 1 MiB + 4 KiB apart: they fall in different regions of the store and entries. */
    private static final long STRIDE = (1L << 20) + 4096;
    private static final int CYCLES = Integer.getInteger("ballast.history.cycles", 12);

    private LabCluster cluster;
    private HistoryClients clients;

    @BeforeAll
    static void support() {
        NetworkLab.requireSupport();
    }

    @AfterEach
    void stop() {
        if (clients != null) {
            clients.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void everyBlockStaysLinearizableThroughKillsPartitionsAndRestarts() throws Exception {
        long seed = Long.getLong("ballast.history.seed", System.nanoTime() % 100_000);
        Random random = new Random(seed);
        Path dir = TestDirs.fresh("history");
        cluster = LabCluster.start(dir, 3, "history");
        cluster.createAndAttach(VOLUME, SIZE, 0);
        History history = new History();
        clients = new HistoryClients(history, () -> cluster.node(0).socket(), VOLUME, CLIENTS, BLOCKS, STRIDE, seed).start();

        List<String> faults = new ArrayList<>();
        long started = System.nanoTime();
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            Thread.sleep(700 + random.nextInt(800));
            int victim = random.nextInt(3);
            boolean leader = random.nextBoolean() && cluster.tryMoveLeadershipTo(VOLUME, victim, 30);
            String who = LabCluster.id(victim) + (leader ? " (leader)" : "") + (victim == 0 ? " (frontend)" : "");
            if (random.nextBoolean()) {
                cluster.node(victim).kill9();
                Thread.sleep(500 + random.nextInt(1500));
                cluster.node(victim).start();
                if (victim == 0) {
                    reattach();
                }
                faults.add("kill -9 " + who);
            } else {
                cluster.lab().isolate(victim);
                Thread.sleep(1000 + random.nextInt(2000));
                cluster.lab().heal();
                faults.add("partition " + who);
            }
        }
        long faultSeconds = (System.nanoTime() - started) / 1_000_000_000L;
        Thread.sleep(2000); // the clients go on a little on the healed cluster
        clients.close();
        cluster.awaitConverged(VOLUME, 90); // after the faults
        clients.readAll(CLIENTS); // the final state of every block, checked like any read

        List<HistoryOp> ops = history.ops();
        List<RegisterChecker.Violation> violations = RegisterChecker.check(ops);
        long writes = ops.stream().filter(o -> o.kind() == HistoryOp.Kind.WRITE && !o.indeterminate()).count();
        long unknown = ops.stream().filter(HistoryOp::indeterminate).count();
        long reads = ops.stream().filter(o -> o.kind() == HistoryOp.Kind.READ).count();
        System.out.printf("history: seed %d, %d faults in %d s (%s); %d operations checked: %d writes acknowledged, "
                + "%d indeterminate, %d reads; %d NBD errors, %d reconnects; longest time without a completed "
                + "operation %d ms; %d violations%n", seed, faults.size(), faultSeconds, String.join(", ", faults),
                ops.size(), writes, unknown, reads, clients.errors(), clients.reconnects(), clients.longestUnavailableMs(),
                violations.size());
        if (!violations.isEmpty()) {
            fail(violations.size() + " linearizability violations (seed " + seed + "), first ones:\n"
                    + describe(violations, history.origin()));
        }
        assertTrue(writes > 200 && reads > 200, "too few operations to mean anything: " + writes + " writes, " + reads + " reads");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void theCheckerCatchesWritesAcknowledgedBeforeTheyCommit() throws Exception {
        Path dir = TestDirs.fresh("history-unsafe");
        cluster = LabCluster.start(dir, 3, "history", "-Dballast.unsafe.ackBeforeCommit=on");
        cluster.createAndAttach(VOLUME, SIZE, 0);
        cluster.moveLeadershipTo(VOLUME, 1, 30); // the frontend's writes travel to another node's leader
        History history = new History();
        clients = new HistoryClients(history, () -> cluster.node(0).socket(), VOLUME, CLIENTS, BLOCKS, STRIDE, 1).start();
        Thread.sleep(4000);
        cluster.node(1).kill9(); // the leader: what it acknowledged early may now be lost as well
        Thread.sleep(1500);
        cluster.node(1).start();
        Thread.sleep(4000);
        clients.close();
        clients.readAll(CLIENTS);

        List<RegisterChecker.Violation> violations = RegisterChecker.check(history.ops());
        System.out.printf("history (ack before commit): %d operations, %d violations; the first:%n%s%n",
                history.ops().size(), violations.size(), describe(violations.subList(0, Math.min(1, violations.size())),
                        history.origin()));
        assertFalse(violations.isEmpty(), "the checker found nothing wrong with writes acknowledged before they commit");
    }

    /** After n1 (the frontend) restarts, attach the volume there again; the clients reconnect by themselves. */
    private void reattach() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                cluster.attach(VOLUME, 0);
                return;
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() > deadline) {
                    fail("could not attach " + VOLUME + " on n1 again within 60 s of its restart: " + e.getStatus());
                }
                Thread.sleep(300);
            }
        }
    }

    private static String describe(List<RegisterChecker.Violation> violations, long origin) {
        StringBuilder s = new StringBuilder();
        for (RegisterChecker.Violation v : violations.subList(0, Math.min(10, violations.size()))) {
            s.append(v.describe(origin)).append('\n');
        }
        return s.toString();
    }
}
