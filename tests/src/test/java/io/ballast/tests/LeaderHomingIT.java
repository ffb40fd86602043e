package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The leadership of a volume follows its writer ({@code LeaderHoming}), with three real node
 * processes started with {@code --leader-homing-delay 3s}. A client writes through n1, where the
 * volume is attached, while an operator moves the leadership to n2: it comes back to n1 after the
 * delay, and the writes never fail. Then the volume is attached on n3, which fences n1's handle and
 * takes the leadership: n1 must not pull it back (two nodes would pass it to and fro). Every block
 * the client wrote reads back through n3.
 */
class LeaderHomingIT {
    private static final String VOLUME = "homing";
    private static final int BLOCK = 64 * 1024;
    private static final int SLOTS = 256; // 16 MiB
    private static final long DELAY_MS = 3000;

    private ReplicatedCluster cluster;
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        threads.shutdownNow();
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void leadershipReturnsToTheAttachedNodeButNotToAFencedOne() throws Exception {
        Path dir = TestDirs.fresh("leader-homing");
        cluster = new ReplicatedCluster(dir, 3);
        for (int i = 0; i < 3; i++) {
            cluster.node(i).args("--leader-homing-delay", DELAY_MS + "ms");
        }
        cluster.start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "64M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        cluster.cli(0, "attach", "--name", VOLUME).assertSuccess();
        await(() -> isLeader(0), 30, "n1 leads after the attach there");

        byte[][] expected = new byte[SLOTS][];
        AtomicBoolean stopWriting = new AtomicBoolean();
        CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> write(expected, stopWriting), threads);
        Thread.sleep(1000);

        // 1. An operator's move to n2 stands for the delay, then the leadership is back on n1.
        cluster.adminStub(0).transferLeadership(TransferLeadershipRequest.newBuilder().setName(VOLUME)
                .setTargetNodeId("n2").build());
        long movedAt = System.nanoTime();
        await(() -> isLeader(1), 5, "n2 leads after the operator's move");
        await(() -> isLeader(0), 30, "the leadership returns to n1, where the volume is attached");
        long awayMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - movedAt);
        System.out.printf("leadership back on n1 %d ms after the move to n2%n", awayMs);
        assertTrue(awayMs >= DELAY_MS - 100, "moved back after " + awayMs + " ms, before the " + DELAY_MS + " ms delay");
        // The line comes just after the move, which the test may see first (it did, by 5 ms).
        await(() -> cluster.node(0).logText().contains("leadership moved back to n1, where it is attached, from n2"),
                5, "n1 logs the move");
        Thread.sleep(1000); // writes through the home leader again
        stopWriting.set(true);
        long writes = writer.get(60, TimeUnit.SECONDS);

        // 2. An attach on n3 fences n1's handle and moves the leadership there, where it stays.
        cluster.cli(2, "attach", "--name", VOLUME).assertSuccess();
        await(() -> isLeader(2), 30, "n3 leads after the attach there");
        Thread.sleep(DELAY_MS + 3 * 2000); // the delay and more than two of n1's checks
        assertTrue(isLeader(2), "n1, whose handle is fenced, pulled the leadership away from n3, where the volume is attached");
        assertFalse(cluster.node(0).logText().contains("from n3"), "n1 tried to move the leadership from n3");

        // 3. Every block written through n1 reads back through n3.
        try (RawNbdClient s = RawNbdClient.connect(cluster.node(2).socket()).handshake(VOLUME)) {
            for (int slot = 0; slot < SLOTS; slot++) {
                if (expected[slot] != null) {
                    assertArrayEquals(expected[slot], s.read((long) slot * BLOCK, BLOCK), "block " + slot);
                }
            }
        }
        System.out.printf("%d writes through n1, every block verified through n3%n", writes);
        assertTrue(writes > 100, "too few writes to mean anything: " + writes);
    }

    private boolean isLeader(int node) {
        try {
            return cluster.replica(VOLUME, node).getRole().equals("LEADER");
        } catch (RuntimeException e) { // an election in progress
            return false;
        }
    }

    /** 64 KiB writes of fresh random data through n1, one at a time, each acknowledged without error. */
    private long write(byte[][] expected, AtomicBoolean stop) {
        Random random = new Random(23);
        long n = 0;
        try (RawNbdClient s = RawNbdClient.connect(cluster.node(0).socket()).handshake(VOLUME)) {
            while (!stop.get()) {
                int slot = random.nextInt(SLOTS);
                byte[] data = new byte[BLOCK];
                random.nextBytes(data);
                s.request(0, RawNbdClient.CMD_WRITE, n, (long) slot * BLOCK, BLOCK, data);
                int error = s.reply(0).error();
                assertEquals(0, error, "write " + n + " through n1 failed");
                expected[slot] = data;
                n++;
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return n;
    }
}
