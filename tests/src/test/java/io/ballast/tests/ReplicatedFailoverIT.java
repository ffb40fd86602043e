package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.proto.v1.Volume;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three real node processes, one 3-replica volume attached on n1 and written by fio (NBD engine,
 * crc32c verify of every block right behind the writes), while the test kill -9's n2 or n3 (the
 * Raft leader on every other cycle: leadership is moved to the victim first) and restarts it,
 * one node down at a time. fio must finish without a single error or verify failure; afterwards
 * every replica must hold byte-identical data.
 */
class ReplicatedFailoverIT {
    private static final String VOLUME = "chaos";
    private static final int CYCLES = Integer.getInteger("ballast.chaos.cycles", 12);

    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private NodeAdminGrpc.NodeAdminBlockingStub admin(int i) {
        return cluster.adminStub(i);
    }

    private Volume status(int i) {
        return admin(i).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build()).getVolume();
    }

    @Test
    void killNineOfAnyMinorityNodeLosesNoAcknowledgedWrite() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("failover");
        cluster = new ReplicatedCluster(dir, 3).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "256M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();
        assertTrue(uri.startsWith("nbd+unix:///" + VOLUME), uri);

        Random random = new Random(7);
        long started = System.nanoTime();
        long written = 0;
        long maxPauseMs = 0;
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            int victim = 1 + random.nextInt(2);
            if (cycle % 2 == 0) {
                moveLeadership(victim); // kill the leader on every other cycle
            }
            // Each cycle: fio writes and verifies (crc32c, right behind the writes) for 6 s while
            // the victim is killed (at 1.5 s), stays down (0.5-2 s), comes back (a node is ready
            // ~1 s after its start) and catches up.
            Path json = dir.resolve("fio-" + cycle + ".json");
            String seed = "--randseed=" + cycle;
            CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(() -> ExternalTool.run(300,
                    "fio", "--name=chaos", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=64k",
                    "--iodepth=8", "--size=128m", "--time_based", "--runtime=6", "--verify=crc32c",
                    "--verify_backlog=32", "--verify_fatal=1", seed,
                    "--output-format=json", "--output=" + json));
            Thread.sleep(1500);
            cluster.node(victim).kill9();
            Thread.sleep(500 + random.nextInt(1500)); // writes go on with two of three replicas
            cluster.node(victim).start();
            ExternalTool.Result r = fio.get(300, TimeUnit.SECONDS);
            String report = Files.readString(json);
            Matcher err = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(report);
            assertTrue(err.find(), "no fio report in cycle " + cycle + ":\n" + r.describe());
            assertEquals("0", err.group(1), "cycle " + cycle + " (killed " + ReplicatedCluster.nodeId(victim)
                    + "): fio saw an I/O or verify error:\n" + r.describe() + "\n--- n1 log ---\n" + tail(cluster.node(0).logText()));
            assertEquals(0, r.exitCode(), r.describe());
            written += FioVerifyIT.bytesOf(new ExternalTool.Result(List.of(), 0, report, ""), "write");
            maxPauseMs = Math.max(maxPauseMs, maxLatencyMs(report));
            awaitCaughtUp(victim);
        }
        long chaosSeconds = (System.nanoTime() - started) / 1_000_000_000L;
        System.out.printf("chaos: %d kill -9 cycles in %d s, %d MiB written and verified, longest write latency %d ms%n",
                CYCLES, chaosSeconds, written >> 20, maxPauseMs);
        assertTrue(written > 0);

        cluster.assertReplicasIdentical(VOLUME);
    }

    private void moveLeadership(int target) {
        try {
            admin(0).transferLeadership(TransferLeadershipRequest.newBuilder().setName(VOLUME)
                    .setTargetNodeId(ReplicatedCluster.nodeId(target)).build());
        } catch (StatusRuntimeException e) {
            // Not fatal: then the victim is a follower this cycle.
            System.out.println("leadership move to " + ReplicatedCluster.nodeId(target) + " failed: " + e.getStatus());
        }
    }

    /** Waits until the restarted node applied everything n1 had committed when it came back. */
    private void awaitCaughtUp(int node) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long target = -1;
        while (System.nanoTime() < deadline) {
            try {
                if (target < 0) {
                    target = status(0).getReplicaStatus(0).getCommitIndex();
                }
                if (status(node).getReplicaStatus(0).getAppliedIndex() >= target) {
                    return;
                }
            } catch (StatusRuntimeException e) {
                // still starting
            }
            Thread.sleep(200);
        }
        throw new AssertionError(ReplicatedCluster.nodeId(node) + " did not catch up to index " + target
                + " within 60 s:\n" + cluster.node(node).logText());
    }

    private static String tail(String log) {
        return log.length() < 6000 ? log : log.substring(log.length() - 6000);
    }

    private static long maxLatencyMs(String report) {
        Matcher m = Pattern.compile("\"clat_ns\"\\s*:\\s*\\{\\s*\"min\"\\s*:\\s*\\d+,\\s*\"max\"\\s*:\\s*(\\d+)").matcher(report);
        long max = 0;
        while (m.find()) {
            max = Math.max(max, Long.parseLong(m.group(1)) / 1_000_000);
        }
        return max;
    }
}
