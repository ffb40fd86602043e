package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.replication.testing.Await;
import io.ballast.proto.v1.ReplicaIntegrity;
import io.ballast.proto.v1.Volume;
import io.ballast.proto.v1.VolumeState;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Invariant 4 with real processes: three nodes, a 3-replica volume attached on n1 and written
 * through NBD with a known pattern (one byte value per MiB). Bytes are then flipped in the data
 * files under the running nodes (the test writes through the page cache the nodes read from, so
 * the rot is visible at once, as on a disk returning bad data): two blocks on n1, two on the
 * follower n2, and one block on all three. Reading everything back through n1's NBD export must
 * return every byte right except the block bad everywhere, which must fail with EIO; n1 repairs
 * its two blocks on disk and counts them; a scrub of n2 repairs its two; the block bad everywhere
 * is counted unrepairable and the volume reports itself degraded until that block is rewritten.
 */
class ReadRepairIT {
    private static final String VOLUME = "rot";
    private static final int B = 4096;
    private static final int MIB = 1 << 20;
    private static final int REGIONS = 8; // MiB written, region i filled with pattern(i)
    private static final long[] N1_BAD = {3, 300};
    private static final long[] N2_BAD = {700, 1500};
    private static final long ALL_BAD = 1800; // in region 7

    private ReplicatedCluster cluster;
    private Path dir;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static int pattern(long region) {
        return 0x10 + (int) region;
    }

    private static int patternOfBlock(long block) {
        return pattern(block * B / MIB);
    }

    @Test
    void corruptBlocksAreRepairedFromAHealthyReplicaAndABlockBadEverywhereIsAnIoError() throws Exception {
        ExternalTool.require("qemu-io", "qemu-utils");
        dir = TestDirs.fresh("read-repair");
        cluster = new ReplicatedCluster(dir, 3).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "64M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();

        List<String> write = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < REGIONS; i++) {
            write.addAll(List.of("-c", "write -P " + pattern(i) + " " + i + "M 1M"));
        }
        write.addAll(List.of("-c", "flush", uri));
        ExternalTool.run(120, write).assertSuccess();
        cluster.awaitConverged(VOLUME, 30);

        for (long b : N1_BAD) {
            flipByte(0, b);
        }
        for (long b : N2_BAD) {
            flipByte(1, b);
        }
        for (int node = 0; node < 3; node++) {
            flipByte(node, ALL_BAD);
        }

        // Every region but the block bad everywhere reads back right through n1.
        List<String> read = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < REGIONS - 1; i++) {
            read.addAll(List.of("-c", "read -P " + pattern(i) + " " + i + "M 1M"));
        }
        long badAt = ALL_BAD * B;
        read.addAll(List.of("-c", "read -P " + pattern(7) + " 7M " + (badAt - 7L * MIB)));
        read.addAll(List.of("-c", "read -P " + pattern(7) + " " + (badAt + B) + " " + (8L * MIB - badAt - B), uri));
        ExternalTool.Result good = ExternalTool.run(120, read).assertSuccess();
        assertFalse(good.stdout().contains("Pattern verification failed"), good.describe());
        assertFalse((good.stdout() + good.stderr()).contains("error"), good.describe());

        ExternalTool.Result bad = ExternalTool.run(120, "qemu-io", "-f", "raw", "-c",
                "read -P " + pattern(7) + " " + badAt + " 4096", uri);
        assertTrue((bad.stdout() + bad.stderr()).contains("Input/output error"),
                "the block bad on every replica must read as EIO:\n" + bad.describe());
        assertFalse(bad.stdout().contains("read 4096/4096 bytes"), "returned as data:\n" + bad.describe());

        ReplicaIntegrity n1 = integrity(0);
        assertEquals(2, n1.getBlocksRepaired(), n1.toString());
        assertEquals(3, n1.getCorruptBlocksFound(), n1.toString());
        assertEquals(1, n1.getUnrepairableFound(), n1.toString());
        assertEquals("degraded: 1 unrepairable block", n1.getCondition());
        assertEquals(VolumeState.VOLUME_STATE_DEGRADED, volume(0).getState());
        for (long b : N1_BAD) {
            assertBlockOnDisk(0, b);
        }
        String log = cluster.node(0).logText();
        assertTrue(log.contains("block 3 at offset 12288 failed its checksum (read); repaired from n"), "WARN per repair");
        assertTrue(log.contains("block 1800 at offset 7372800 fails its checksum (read) and cannot be repaired"), log);
        // Repaired on disk: reading again finds nothing new to repair.
        ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "read -P " + pattern(0) + " 0 1M", uri).assertSuccess();
        assertEquals(3, integrity(0).getCorruptBlocksFound(), "the second read hit no corruption");

        // A scrub of the follower repairs its own blocks and finds the one bad everywhere.
        ExternalTool.Result scrub = cluster.cli(1, "scrub", "--name", VOLUME);
        assertEquals(2, scrub.exitCode(), "exit 2: a block is left unrepairable\n" + scrub.describe());
        assertTrue(scrub.stdout().contains("64MiB verified, 3 corrupt blocks, 2 repaired, 1 unrepairable; "
                + "degraded: 1 unrepairable block"), scrub.describe());
        for (long b : N2_BAD) {
            assertBlockOnDisk(1, b);
        }
        ExternalTool.Result status = cluster.cli(1, "status", "--name", VOLUME).assertSuccess();
        // One attempt more than the scrub's: when n1's read asked n2 for the block bad everywhere, n2
        // tried to repair its own copy of it at once (a block noticed serving a peer), and failed.
        assertTrue(status.stdout().contains("integrity: degraded: 1 unrepairable block  corrupt=4 repaired=2 "
                + "unrepairable=2  scrub=done 1x, last 64MiB/64MiB"), status.describe());

        // Rewriting the block heals it on every replica; the next scrub finds n1 healthy again.
        ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "write -P " + pattern(7) + " " + badAt + " 4096",
                "-c", "read -P " + pattern(7) + " 7M 1M", uri).assertSuccess();
        ExternalTool.Result heal = cluster.cli(0, "scrub", "--name", VOLUME);
        assertEquals(0, heal.exitCode(), heal.describe());
        assertTrue(heal.stdout().contains("0 corrupt blocks, 0 repaired, 0 unrepairable; healthy"), heal.describe());
        assertEquals(VolumeState.VOLUME_STATE_AVAILABLE, volume(0).getState());

        ExternalTool.Result help = cluster.cli(0, "scrub", "--help").assertSuccess();
        assertTrue(help.stdout().contains("--name") && help.stdout().contains("repair"), help.describe());
    }

    /**
     * The node's own schedule ({@code --scrub-interval}): a block nobody reads goes bad on n2 and
     * n2 repairs it with no one asking, once the interval (15 s here) has passed since it first saw
     * the replica; the pass's end is in {@code volume status} and survives n2's restart, which comes
     * within the interval (so no second pass has replaced it).
     */
    @Test
    void aScheduledScrubRepairsABlockNobodyReadsAndItsEndOutlivesARestart() throws Exception {
        ExternalTool.require("qemu-io", "qemu-utils");
        dir = TestDirs.fresh("scheduled-scrub");
        cluster = new ReplicatedCluster(dir, 3).jvmArgs("-Dballast.scrub.checkSeconds=1");
        for (int i = 0; i < 3; i++) {
            cluster.node(i).args("--scrub-interval", i == 1 ? "15s" : "0", "--scrub-rate", "16M");
        }
        cluster.start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "16M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();
        ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "write -P " + pattern(0) + " 0 1M", "-c", "flush", uri)
                .assertSuccess();
        cluster.awaitConverged(VOLUME, 30);
        flipByte(1, 9);

        Await.await(() -> integrity(1).getScrubsCompleted() == 1, 60, "n2's scheduled scrub");
        ReplicaIntegrity n2 = integrity(1);
        assertEquals(1, n2.getBlocksRepaired(), n2.toString());
        assertBlockOnDisk(1, 9);
        assertEquals(0, integrity(0).getScrubBytesTotal(), "--scrub-interval 0: n1 scrubs only when asked");
        String finished = "finished " + java.time.Instant.ofEpochMilli(n2.getLastScrubCompletedUnixMs())
                .truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        ExternalTool.Result status = cluster.cli(1, "status", "--name", VOLUME).assertSuccess();
        assertTrue(status.stdout().contains("scrub=done 1x, last 16MiB/16MiB, " + finished), status.describe());
        assertTrue(cluster.node(1).logText().contains("volume " + VOLUME + ": scheduled scrub (none since "),
                "the schedule says why it started");

        cluster.node(1).stopCleanly();
        cluster.node(1).start();
        Await.await(() -> integrity(1).getLastScrubCompletedUnixMs() == n2.getLastScrubCompletedUnixMs(), 60,
                "the pass's end read back by the restarted n2");
        ExternalTool.Result again = cluster.cli(1, "status", "--name", VOLUME).assertSuccess();
        assertTrue(again.stdout().contains("scrub=last " + finished), "shown after the restart:\n" + again.describe());
    }

    /** Flips one byte inside {@code block} of node i's data file (through the page cache). */
    private void flipByte(int node, long block) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dataFile(node).toFile(), "rw")) {
            long at = block * B + 777;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }
    }

    private void assertBlockOnDisk(int node, long block) throws Exception {
        byte[] actual = new byte[B];
        try (RandomAccessFile f = new RandomAccessFile(dataFile(node).toFile(), "r")) {
            f.seek(block * B);
            f.readFully(actual);
        }
        byte[] expected = new byte[B];
        Arrays.fill(expected, (byte) patternOfBlock(block));
        assertArrayEquals(expected, actual, "block " + block + " repaired on disk on " + ReplicatedCluster.nodeId(node));
    }

    private Path dataFile(int node) {
        return dir.resolve(ReplicatedCluster.nodeId(node) + "/volumes/" + VOLUME + "/data");
    }

    private Volume volume(int i) {
        return cluster.adminStub(i).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build()).getVolume();
    }

    private ReplicaIntegrity integrity(int i) {
        return volume(i).getIntegrity();
    }
}
