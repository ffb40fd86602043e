package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.ProbeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.LogTail;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * No resource outlives its volume (issue 14): volumes created and deleted through the CSI
 * controller with a random 0-2 s between the two, as a CO does when a PVC is deleted right after
 * it was made, while a node is restarted every few cycles. Afterwards no node holds a Raft group,
 * store, journal or snapshot directory of any of them, and the cluster's logs stay quiet.
 *
 * <p>{@code -Dchurn.cycles=300 -Dchurn.restartEvery=50} is the long run (docs/reliability.md); CI
 * runs 16 cycles with a restart every 8.
 */
class VolumeChurnIT {
    private static final int CYCLES = Integer.getInteger("churn.cycles", 16);
    private static final int RESTART_EVERY = Integer.getInteger("churn.restartEvery", 8);

    private ReplicatedCluster cluster;
    private BallastNodeProcess controller;
    private CsiClient csi;

    @AfterEach
    void stop() {
        if (csi != null) {
            csi.close();
        }
        if (controller != null) {
            controller.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 3600, unit = TimeUnit.SECONDS)
    void createdAndDeletedVolumesLeaveNothingBehind() throws Exception {
        Path dir = TestDirs.fresh("churn");
        cluster = new ReplicatedCluster(dir, 3, 3).start();
        Path socket = dir.resolve("csi.sock");
        controller = BallastNodeProcess.controller("controller", dir, List.of("--cluster-id", ReplicatedCluster.CLUSTER_ID,
                "--catalog", cluster.catalogArg(3), "--csi-endpoint", "unix://" + socket)).start();
        csi = new CsiClient(socket);
        await(() -> csi.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue(), 60, "controller ready");
        await(() -> cluster.catalogState().getNodesCount() == 3, 60, "three nodes registered");
        List<String> catalogGroups = groupDirs();

        Random random = new Random(14);
        long started = System.nanoTime();
        int restarts = 0;
        for (int cycle = 1; cycle <= CYCLES; cycle++) {
            String name = "pvc-churn-" + cycle;
            String id = retried(() -> csi.controller().createVolume(CreateVolumeRequest.newBuilder().setName(name)
                    .addVolumeCapabilities(VolumeCapability.newBuilder()
                            .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                                    .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
                    .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(16L << 20))
                    .putParameters("replicas", "3").build()).getVolume().getVolumeId());
            Thread.sleep(random.nextInt(2001));
            retried(() -> csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build()));
            if (cycle % RESTART_EVERY == 0 && cycle < CYCLES) {
                int n = restarts++ % 3;
                cluster.node(n).stopCleanly();
                cluster.node(n).start();
            }
        }
        System.out.printf("churn: %d volumes created and deleted, %d node restarts, %d s%n", CYCLES, restarts,
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));

        // Nodes sweep deleted volumes' leftovers with their heartbeat (every 10 s).
        await(() -> groupDirs().equals(catalogGroups) && storeFiles().isEmpty(), 120,
                "every deleted volume's group and files gone from every node");
        assertEquals(0, cluster.catalogState().getVolumesCount(), "the catalog lists no volume");

        // Quiet: an idle cluster logs (next to) nothing. The last restart's catch-up (Ratis warns
        // while a restarted follower catches up) is over: the restart came half the cycles ago.
        long[] before = new long[3];
        for (int i = 0; i < 3; i++) {
            before[i] = lines(cluster.node(i).log());
        }
        Thread.sleep(20_000);
        for (int i = 0; i < 3; i++) {
            long added = lines(cluster.node(i).log()) - before[i];
            assertTrue(added <= 2, ReplicatedCluster.nodeId(i) + " logged " + added + " lines in 20 s idle:\n"
                    + LogTail.of(cluster.node(i).log(), (int) Math.min(added, 40)));
        }
    }

    /** Raft group directories on all nodes, as node/group. */
    private List<String> groupDirs() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path raft = cluster.node(i).dataDir().resolve("raft");
            try (Stream<Path> s = Files.list(raft)) {
                String node = ReplicatedCluster.nodeId(i);
                s.map(p -> node + "/" + p.getFileName()).sorted().forEach(out::add);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return out;
    }

    /** Volume stores and user snapshots left on any node. */
    private List<Path> storeFiles() {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            for (String sub : List.of("volumes", "snapshots")) {
                Path d = cluster.node(i).dataDir().resolve(sub);
                if (Files.isDirectory(d)) {
                    try (Stream<Path> s = Files.list(d)) {
                        s.forEach(out::add);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
        }
        return out;
    }

    /** A CO retries a call that found no quorum or timed out (a node was restarting). */
    private static <T> T retried(Callable<T> call) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                return call.call();
            } catch (StatusRuntimeException e) {
                Status.Code c = e.getStatus().getCode();
                boolean transient_ = c == Status.Code.UNAVAILABLE || c == Status.Code.DEADLINE_EXCEEDED
                        || c == Status.Code.ABORTED;
                if (!transient_ || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(500);
            }
        }
    }

    private static long lines(Path log) throws IOException {
        try (Stream<String> s = Files.lines(log)) {
            return s.count();
        }
    }

}
