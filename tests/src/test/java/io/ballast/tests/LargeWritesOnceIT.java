package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.store.XfsScratch;
import io.ballast.replication.testing.Await;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Large writes land once per replica where the filesystem shares extents: three node processes
 * with their data on a scratch xfs with reflink, a 3-replica volume written by fio in 1 MiB blocks.
 * Every replica's store takes the writes' blocks from its entry journal by reference
 * ({@code ballast_replica_shared_bytes_total}), the data reads back right (fio's crc32c verify),
 * and it stays right while kill -9 takes a replica down and back in turn, the journal files that
 * the stores share blocks with being recycled and deleted meanwhile: afterwards every replica
 * holds byte-identical data. Needs root, loop devices and mkfs.xfs (skips elsewhere, fails under
 * CI=true).
 */
class LargeWritesOnceIT {
    private static final String VOLUME = "large";

    private XfsScratch xfs;
    private ReplicatedCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (xfs != null) {
            xfs.close();
        }
    }

    @Test
    void largeWritesShareTheJournalsBlocksAndSurviveKillNine() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("large-writes");
        xfs = XfsScratch.mount(dir, 6L << 30);
        cluster = new ReplicatedCluster(xfs.root(), 3, 3).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "256M"));
        create.addAll(cluster.replicaArgs(0, 1, 2));
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();

        fio(dir, uri, "fill", "write", 0, 4).assertSuccess();
        for (int i = 0; i < 3; i++) {
            int node = i;
            // The followers apply what the leader committed a moment later.
            Await.await(() -> sharedBytes(node) >= 128L << 20, 60,
                    ReplicatedCluster.nodeId(node) + " to share at least half of the 256 MiB written in 1 MiB blocks");
        }

        for (int cycle = 0; cycle < 4; cycle++) {
            int victim = cycle % 3;
            CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(
                    () -> fio(dir, uri, "cycle" + victim, "randwrite", 8, 1));
            Thread.sleep(1500);
            if (victim != 0) { // n1 serves the attached volume: kill only the others
                cluster.node(victim).kill9();
                Thread.sleep(1000);
                cluster.node(victim).start();
            }
            ExternalTool.Result r = fio.get(300, TimeUnit.SECONDS);
            Matcher err = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(r.stdout());
            assertTrue(err.find(), "no fio report in cycle " + cycle + ":\n" + r.describe());
            assertEquals("0", err.group(1), "cycle " + cycle + ": fio saw an I/O or verify error:\n" + r.describe());
            assertEquals(0, r.exitCode(), r.describe());
        }
        cluster.assertReplicasIdentical(VOLUME);
    }

    /** fio over the volume in 1 MiB blocks with a crc32c verify; {@code runtime} 0: one pass. */
    private static ExternalTool.Result fio(Path dir, String uri, String name, String rw, int runtime, int depth) {
        List<String> args = new ArrayList<>(List.of("fio", "--name=" + name, "--ioengine=nbd", "--uri=" + uri, "--rw=" + rw,
                "--bs=1m", "--iodepth=" + depth, "--size=256m", "--verify=crc32c", "--verify_fatal=1",
                "--randseed=" + name.hashCode(), "--output-format=json"));
        if (runtime > 0) {
            args.addAll(List.of("--time_based", "--runtime=" + runtime, "--verify_backlog=16"));
        }
        return ExternalTool.run(300, args.toArray(String[]::new));
    }

    private long sharedBytes(int node) {
        String series = "ballast_replica_shared_bytes_total{volume=\"" + VOLUME + "\"}";
        return (long) ReplicatedCluster.sample(ReplicatedCluster.scrape(cluster.metricsUrl(node)), series).orElse(-1);
    }
}
