package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerModifyVolumeRequest;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.Peer;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * CSI ControllerModifyVolume changes a live volume's replica count (issue 16), with real
 * processes: five nodes, the controller, a volume of 3 replicas published and attached on one of
 * them, fio writing with crc32c all along. ModifyVolume to 5: two replicas are added (rebuilt by
 * block copy) and join the group; back to 2: three leave, never the attached node's. fio sees no
 * error, every block verifies, and the remaining replicas hold the same commit.
 */
class ModifyReplicasIT {
    private static final long MIB = 1 << 20;
    private ReplicatedCluster cluster;
    private ControllerProcess controller;
    private CsiClient csi;

    @AfterEach
    void stop() {
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
    void replicasGoFromThreeToFiveAndDownToTwoUnderWrites() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("modify-replicas");
        cluster = new ReplicatedCluster(dir, 5, 3).start();
        controller = ControllerProcess.start(cluster, dir, "--repair-interval", "1s");
        csi = controller.csi();

        String id = csi.controller().createVolume(CreateVolumeRequest.newBuilder().setName("pvc-modify")
                .addVolumeCapabilities(blockWriter()).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(64 * MIB))
                .putParameters("replicas", "3").build()).getVolume().getVolumeId();
        String home = cluster.placement(id).get(0);
        int homeIndex = Integer.parseInt(home.substring(1)) - 1;
        csi.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(id)
                .setNodeId(home).setVolumeCapability(blockWriter()).build());
        String uri = cluster.adminStub(homeIndex).attachVolume(AttachVolumeRequest.newBuilder().setName(id).build()).getNbdUri();

        List<String> job = new ArrayList<>(List.of("fio", "--name=modify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite",
                "--bs=64k", "--iodepth=4", "--size=48m", "--verify=crc32c", "--do_verify=0", "--randseed=11",
                "--rate=2m"));
        var writer = CompletableFuture.supplyAsync(() -> ExternalTool.run(300, job));

        long t0 = System.nanoTime();
        modify(id, 5);
        List<String> five = cluster.placement(id);
        System.out.printf("3 -> 5 replicas in %.1f s: %s%n", (System.nanoTime() - t0) / 1e9, five);
        assertEquals(5, five.size(), five.toString());
        assertEquals(5, members(homeIndex, id).size(), "the group has five voting members");

        t0 = System.nanoTime();
        modify(id, 2);
        List<String> two = cluster.placement(id);
        System.out.printf("5 -> 2 replicas in %.1f s: %s%n", (System.nanoTime() - t0) / 1e9, two);
        assertEquals(2, two.size(), two.toString());
        assertTrue(two.contains(home), "the attached node keeps its replica: " + two);
        assertEquals(two.stream().sorted().toList(), members(homeIndex, id), "the group's members are the placement");
        for (String n : five) {
            if (!two.contains(n)) {
                int i = Integer.parseInt(n.substring(1)) - 1;
                await(() -> {
                    try {
                        cluster.adminStub(i).getVolume(GetVolumeRequest.newBuilder().setName(id).build());
                        return false;
                    } catch (StatusRuntimeException e) {
                        return e.getStatus().getCode() == Status.Code.NOT_FOUND;
                    }
                }, 30, "the replica on removed node " + n + " is deleted");
            }
        }
        modify(id, 2); // idempotent

        ExternalTool.Result write = writer.get(300, TimeUnit.SECONDS);
        write.assertSuccess();
        assertTrue(write.stdout().contains("err= 0"), write.stdout());
        List<String> verify = new ArrayList<>(job);
        verify.remove("--rate=2m");
        verify.add("--verify_only");
        ExternalTool.Result check = ExternalTool.run(300, verify);
        check.assertSuccess();
        assertTrue(check.stdout().contains("err= 0"), check.stdout());
    }

    /** ModifyVolume until it answers OK: ABORTED means "under way", as the Kubernetes resizer retries. */
    private void modify(String id, int replicas) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (true) {
            try {
                csi.controller().controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder().setVolumeId(id)
                        .putMutableParameters("replicas", Integer.toString(replicas)).build());
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ABORTED || System.nanoTime() > deadline) {
                    throw e;
                }
                System.out.println("modify to " + replicas + ": " + e.getStatus().getDescription());
                Thread.sleep(1000);
            }
        }
    }

    private List<String> members(int node, String id) {
        return cluster.adminStub(node).getVolume(GetVolumeRequest.newBuilder().setName(id).build()).getVolume()
                .getMembersList().stream().map(Peer::getNodeId).sorted().toList();
    }

}
