package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.NodeDrain;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Node maintenance (issue 16) with real processes: four nodes and the controller, two volumes of 3
 * replicas attached on other nodes and written by fio with crc32c throughout, both led by the node
 * that is drained. {@code ballast node drain} moves the leaderships off; {@code --evacuate}
 * re-creates its replicas elsewhere before removing them (the placements never drop below 3, which
 * a sampler checks all along); evacuating a second node is refused because nothing has room, and
 * changes nothing; {@code undrain} makes the node eligible again (a 4-replica volume is refused
 * while it is drained and placed on it after). fio sees no error and every block verifies.
 */
class DrainIT {
    private static final long MIB = 1 << 20;
    private ReplicatedCluster cluster;
    private ControllerProcess controller;
    private CsiClient csi;
    /** Own threads: the common pool has one thread on 2 cores, and the fio runs block theirs. */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        threads.shutdownNow();
        if (controller != null) {
            controller.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static VolumeCapability blockWriter() {
        return VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER))
                .build();
    }

    @Test
    void drainMovesLeadershipsEvacuateMovesReplicasUndrainRestores() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("drain");
        cluster = new ReplicatedCluster(dir, 4, 3).start();
        controller = ControllerProcess.start(cluster, dir, "--repair-interval", "1s");
        csi = controller.csi();

        String a = create("pvc-drain-a", 3);
        String b = create("pvc-drain-b", 3);
        // The victim holds a replica of both (with 3 of 4 nodes each, at least two nodes do).
        String victim = cluster.placement(a).stream().filter(cluster.placement(b)::contains).findFirst().orElseThrow();
        int victimIndex = index(victim);
        Map<String, String> homes = new HashMap<>();
        List<CompletableFuture<ExternalTool.Result>> writers = new ArrayList<>();
        List<List<String>> jobs = new ArrayList<>();
        for (String id : List.of(a, b)) {
            String home = cluster.placement(id).stream().filter(n -> !n.equals(victim)).findFirst().orElseThrow();
            homes.put(id, home);
            csi.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(id)
                    .setNodeId(home).setVolumeCapability(blockWriter()).build());
            String uri = cluster.adminStub(index(home)).attachVolume(AttachVolumeRequest.newBuilder().setName(id).build())
                    .getNbdUri();
            cluster.adminStub(index(home)).transferLeadership(TransferLeadershipRequest.newBuilder().setName(id)
                    .setTargetNodeId(victim).build());
            List<String> job = new ArrayList<>(List.of("fio", "--name=drain", "--ioengine=nbd", "--uri=" + uri,
                    "--rw=randwrite", "--bs=64k", "--iodepth=4", "--size=40m", "--verify=crc32c", "--do_verify=0",
                    "--randseed=17", "--rate=1m")); // 40 s: writing through every step below
            jobs.add(job);
            writers.add(CompletableFuture.supplyAsync(() -> ExternalTool.run(600, job), threads));
        }
        await(() -> leading(victim) == 2, 30, victim + " leads both groups (heartbeat)");

        // 1. Drain: the leaderships move off; the replicas stay.
        ExternalTool.Result drain = node("drain", victim);
        drain.assertSuccess();
        System.out.println(drain.stdout());
        assertTrue(drain.stdout().contains("node " + victim + " is drained"), drain.stdout());
        for (String id : List.of(a, b)) {
            assertNotEquals("LEADER", cluster.replica(id, victimIndex).getRole(), id + " still led by " + victim);
            assertTrue(cluster.placement(id).contains(victim), "a plain drain keeps the replicas");
        }

        // 2. Evacuate: every replica re-created elsewhere before its removal, never fewer than 3.
        Map<String, Integer> fewest = new HashMap<>(Map.of(a, 3, b, 3));
        AtomicBoolean sampling = new AtomicBoolean(true);
        CompletableFuture<Void> sampler = CompletableFuture.runAsync(() -> {
            while (sampling.get()) {
                try {
                    for (String id : List.of(a, b)) {
                        fewest.merge(id, cluster.placement(id).size(), Math::min);
                    }
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // a catalog read failed: sample again
                }
            }
        }, threads);
        long t0 = System.nanoTime();
        ExternalTool.Result evacuate = node("drain", victim, "--evacuate");
        sampling.set(false);
        sampler.get(10, TimeUnit.SECONDS);
        evacuate.assertSuccess();
        System.out.printf("evacuated %s in %.1f s:%n%s%n", victim, (System.nanoTime() - t0) / 1e9, evacuate.stdout());
        for (String id : List.of(a, b)) {
            List<String> placement = cluster.placement(id);
            assertEquals(3, placement.size(), placement.toString());
            assertFalse(placement.contains(victim), placement.toString());
            assertEquals(3, (int) fewest.get(id), id + " dropped below 3 replicas during the evacuation");
            await(() -> {
                try {
                    cluster.adminStub(victimIndex).getVolume(GetVolumeRequest.newBuilder().setName(id).build());
                    return false;
                } catch (StatusRuntimeException e) {
                    return e.getStatus().getCode() == Status.Code.NOT_FOUND;
                }
            }, 30, "the evacuated replica of " + id + " is deleted on " + victim);
        }
        assertTrue(cluster.catalogState().getNodesList().stream().filter(n -> n.getNodeId().equals(victim))
                .allMatch(n -> n.getDrain() == NodeDrain.NODE_DRAIN_EVACUATE));
        String status = ExternalTool.run(60, BallastNodeProcess.command("status", "--cluster", cluster.admin(0)))
                .assertSuccess().stdout();
        assertTrue(status.lines().anyMatch(l -> l.startsWith(victim) && l.contains("evacuating")),
                "ballast status shows the mode (README):\n" + status);

        // 3. No room: every other node holds both volumes now, and the victim is drained.
        String other = cluster.placement(a).stream().filter(n -> !n.equals(homes.get(a))).findFirst().orElseThrow();
        ExternalTool.Result refused = node("drain", other, "--evacuate");
        assertEquals(1, refused.exitCode(), refused.describe());
        assertTrue(refused.stderr().contains("cannot be evacuated") && refused.stderr().contains("pvc-drain-a"),
                refused.describe());
        assertTrue(refused.stderr().startsWith("ballast node drain: "), "errors name the whole command: " + refused.stderr());
        assertTrue(cluster.catalogState().getNodesList().stream().filter(n -> n.getNodeId().equals(other))
                .allMatch(n -> n.getDrain() == NodeDrain.NODE_DRAIN_NONE), "a refused drain changes nothing");

        // 4. Undrain: eligible again. A 4-replica volume needs every node.
        StatusRuntimeException noRoom = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> create("pvc-drain-four", 4));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, noRoom.getStatus().getCode(), noRoom.toString());
        node("undrain", victim).assertSuccess();
        String four = create("pvc-drain-four", 4);
        assertTrue(cluster.placement(four).contains(victim), cluster.placement(four).toString());

        // 5. --no-wait: returns once the catalog records the mode, printing no progress.
        ExternalTool.Result noWait = node("drain", other, "--no-wait");
        noWait.assertSuccess();
        assertTrue(noWait.stdout().contains("node " + other + ": drained") && noWait.stdout().contains("not waiting")
                && !noWait.stdout().contains("is drained"), noWait.stdout());
        assertTrue(cluster.catalogState().getNodesList().stream().filter(n -> n.getNodeId().equals(other))
                .allMatch(n -> n.getDrain() == NodeDrain.NODE_DRAIN_LEADERS), "the catalog records the drain at once");
        node("undrain", other).assertSuccess();

        for (int i = 0; i < writers.size(); i++) {
            ExternalTool.Result w = writers.get(i).get(600, TimeUnit.SECONDS);
            w.assertSuccess();
            assertTrue(w.stdout().contains("err= 0"), w.stdout());
            List<String> verify = new ArrayList<>(jobs.get(i));
            verify.remove("--rate=1m");
            verify.add("--verify_only");
            ExternalTool.Result check = ExternalTool.run(300, verify);
            check.assertSuccess();
            assertTrue(check.stdout().contains("err= 0"), check.stdout());
        }
    }

    private String create(String name, int replicas) {
        return csi.controller().createVolume(CreateVolumeRequest.newBuilder().setName(name)
                .addVolumeCapabilities(blockWriter()).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(64 * MIB))
                .putParameters("replicas", Integer.toString(replicas)).build()).getVolume().getVolumeId();
    }

    private int leading(String node) {
        return cluster.catalogState().getNodesList().stream().filter(n -> n.getNodeId().equals(node))
                .mapToInt(CatalogNode::getLeadingCount).findFirst().orElse(-1);
    }

    private ExternalTool.Result node(String verb, String... args) {
        List<String> cmd = new ArrayList<>(List.of("node", verb));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--cluster", cluster.admin(0)));
        if (verb.equals("drain")) {
            cmd.addAll(List.of("--timeout", "5m"));
        }
        return ExternalTool.run(600, BallastNodeProcess.command(cmd.toArray(String[]::new)));
    }

    private static int index(String nodeId) {
        return Integer.parseInt(nodeId.substring(1)) - 1;
    }
}
