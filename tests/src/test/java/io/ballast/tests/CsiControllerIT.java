package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerGetVolumeRequest;
import io.ballast.proto.csi.v1.ControllerGetVolumeResponse;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.DeleteSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.ListVolumesRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The CSI controller against a real cluster: four {@code ballast node} processes (the catalog on
 * the first three, zone labels z0/z1) and a {@code ballast controller} process serving CSI on a
 * unix socket, driven the way the Kubernetes sidecars drive it. A volume is created, written
 * through NBD, snapshotted, overwritten, cloned from the snapshot (the clone holds the snapshot's
 * data, not the later writes), expanded, survives the loss of a replica's node (condition
 * abnormal, then healthy once the repair loop has re-placed and rebuilt the replica) and is
 * deleted with everything it owns.
 */
class CsiControllerIT {
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

    private static CreateVolumeRequest.Builder create(String name, long bytes) {
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(blockWriter())
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(bytes)).putParameters("replicas", "3");
    }

    private List<String> nodesOf(String volumeId) {
        return cluster.placement(volumeId).stream().sorted().toList();
    }

    private ControllerGetVolumeResponse get(String id) {
        return csi.controller().controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId(id).build());
    }

    @Test
    void volumeLifecycleSnapshotCloneExpandRepairAndDelete() throws Exception {
        ExternalTool.require("nbdcopy", "libnbd-bin");
        Path dir = TestDirs.fresh("csi-controller");
        cluster = new ReplicatedCluster(dir, 4, 3).start();
        int metricsPort;
        try (var s = new java.net.ServerSocket(0)) {
            metricsPort = s.getLocalPort();
        }
        controller = ControllerProcess.start(cluster, dir, "--down-after", "4s", "--repair-after", "8s",
                "--repair-interval", "1s", "--metrics-listen", "127.0.0.1:" + metricsPort);
        csi = controller.csi();

        // Create: three replicas on three distinct nodes, idempotent by name.
        var created = csi.controller().createVolume(create("pvc-data", 64 * MIB).build()).getVolume();
        String id = created.getVolumeId();
        assertEquals(64 * MIB, created.getCapacityBytes());
        List<String> placement = nodesOf(id);
        assertEquals(3, placement.size(), placement.toString());
        assertEquals(id, csi.controller().createVolume(create("pvc-data", 64 * MIB).build()).getVolume().getVolumeId());
        assertCode(Status.Code.ALREADY_EXISTS, () -> csi.controller().createVolume(create("pvc-data", 128 * MIB)
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(128 * MIB).setLimitBytes(128 * MIB)).build()));
        assertCode(Status.Code.RESOURCE_EXHAUSTED, () -> csi.controller().createVolume(create("pvc-big", 64 * MIB)
                .putParameters("replicas", "5").build()));

        // Publish on a node holding a replica, attach there (what NodeStage will do) and write A.
        String home = placement.get(0);
        int homeIndex = Integer.parseInt(home.substring(1)) - 1;
        csi.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(id)
                .setNodeId(home).setVolumeCapability(blockWriter()).build());
        String other = placement.get(1);
        assertCode(Status.Code.FAILED_PRECONDITION, () -> csi.controller().controllerPublishVolume(
                ControllerPublishVolumeRequest.newBuilder().setVolumeId(id).setNodeId(other).setVolumeCapability(blockWriter()).build()));
        String uri = cluster.adminStub(homeIndex).attachVolume(AttachVolumeRequest.newBuilder().setName(id).build()).getNbdUri();
        Path a = randomFile(dir.resolve("a.bin"), 16 * MIB, 1);
        Path b = randomFile(dir.resolve("b.bin"), 16 * MIB, 2);
        copy(a.toString(), uri);

        // Snapshot, then overwrite with B: the snapshot keeps A.
        var snap = csi.controller().createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-1")
                .setSourceVolumeId(id).build()).getSnapshot();
        assertTrue(snap.getReadyToUse());
        assertEquals(id, snap.getSourceVolumeId());
        copy(b.toString(), uri);

        // Clone from the snapshot: it holds A (and zeroes after it), not B.
        var clone = csi.controller().createVolume(create("pvc-clone", 64 * MIB).setVolumeContentSource(
                VolumeContentSource.newBuilder().setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
                        .setSnapshotId(snap.getSnapshotId()))).build()).getVolume();
        assertEquals(snap.getSnapshotId(), clone.getContentSource().getSnapshot().getSnapshotId());
        List<String> clonePlacement = nodesOf(clone.getVolumeId());
        int cloneHome = Integer.parseInt(clonePlacement.get(0).substring(1)) - 1;
        String cloneUri = cluster.adminStub(cloneHome).attachVolume(AttachVolumeRequest.newBuilder()
                .setName(clone.getVolumeId()).build()).getNbdUri();
        Path cloneCopy = dir.resolve("clone.bin");
        copy(cloneUri, cloneCopy.toString());
        assertEquals(sha256(a, 16 * MIB), sha256(cloneCopy, 16 * MIB), "the clone holds the snapshot's data");
        assertTrue(zeroFrom(cloneCopy, 16 * MIB), "beyond the snapshot's data the clone reads zeroes");
        cluster.adminStub(cloneHome).detachVolume(DetachVolumeRequest.newBuilder().setName(clone.getVolumeId()).build());

        // Expand the attached volume: grow only, visible on every replica.
        var grown = csi.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(id)
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(96 * MIB)).setVolumeCapability(blockWriter()).build());
        assertEquals(96 * MIB, grown.getCapacityBytes());
        assertFalse(grown.getNodeExpansionRequired(), "a block volume needs no node expansion");
        await(() -> cluster.adminStub(homeIndex).getVolume(GetVolumeRequest.newBuilder().setName(id).build())
                .getVolume().getSizeBytes() == 96 * MIB, 30, "resize applied where the volume is attached");

        // Lose a replica's node (a catalog member if possible, never the attached one).
        String victim = placement.stream().filter(n -> !n.equals(home) && !n.equals("n4")).findFirst().orElse(placement.get(1));
        int victimIndex = Integer.parseInt(victim.substring(1)) - 1;
        cluster.node(victimIndex).kill9();
        await(() -> get(id).getStatus().getVolumeCondition().getAbnormal(), 30, "condition abnormal after " + victim + " died");
        String message = get(id).getStatus().getVolumeCondition().getMessage();
        assertTrue(message.contains(victim), message);
        await(() -> {
            var v = get(id);
            return !v.getStatus().getVolumeCondition().getAbnormal() && !nodesOf(id).contains(victim);
        }, 180, "replica re-placed and rebuilt");
        // The clone's replicas are repaired too where the victim held one; each repair runs on its
        // own schedule, so wait for every volume that lost a replica before counting repairs.
        int expectedRepairs = 1 + (clonePlacement.contains(victim) ? 1 : 0);
        if (clonePlacement.contains(victim)) {
            await(() -> !nodesOf(clone.getVolumeId()).contains(victim) && !get(clone.getVolumeId()).getStatus()
                    .getVolumeCondition().getAbnormal(), 180, "the clone's replica re-placed and rebuilt");
        }
        List<String> repaired = nodesOf(id);
        assertEquals(3, repaired.size());
        assertNotEquals(placement, repaired);
        // The new replica serves B: move the volume there and read it back.
        String fresh = repaired.stream().filter(n -> !placement.contains(n)).findFirst().orElseThrow();
        int freshIndex = Integer.parseInt(fresh.substring(1)) - 1;
        cluster.adminStub(homeIndex).detachVolume(DetachVolumeRequest.newBuilder().setName(id).build());
        String freshUri = cluster.adminStub(freshIndex).attachVolume(AttachVolumeRequest.newBuilder().setName(id).build()).getNbdUri();
        Path back = dir.resolve("back.bin");
        copy(freshUri, back.toString());
        assertEquals(sha256(b, 16 * MIB), sha256(back, 16 * MIB), "the rebuilt replica's node reads B");
        cluster.adminStub(freshIndex).detachVolume(DetachVolumeRequest.newBuilder().setName(id).build());

        // What an operator's Prometheus sees: both repairs, the calls by code, the nodes, and on the
        // repaired replica's node its Raft progress and the NBD bytes just read.
        String controllerUrl = "http://127.0.0.1:" + metricsPort + "/metrics";
        // The loop counts a repair just after recording the new placement: allow it that moment.
        await(() -> sample(ReplicatedCluster.scrape(controllerUrl), "ballast_repairs_total{outcome=\"done\"}")
                >= expectedRepairs, 10, expectedRepairs + " repairs counted");
        String controllerMetrics = ReplicatedCluster.scrape(controllerUrl);
        assertSample(controllerMetrics, "ballast_repairs_total{outcome=\"done\"}", expectedRepairs);
        assertSample(controllerMetrics, "ballast_csi_calls_total{code=\"OK\",method=\"CreateSnapshot\"}", 1);
        assertSample(controllerMetrics, "ballast_csi_calls_total{code=\"FAILED_PRECONDITION\",method=\"ControllerPublishVolume\"}", 1);
        assertSample(controllerMetrics, "ballast_nodes{state=\"down\"}", 1);
        String nodeMetrics = ReplicatedCluster.scrape(cluster.metricsUrl(freshIndex));
        assertTrue(sample(nodeMetrics, "ballast_replica_applied_index{volume=\"" + id + "\"}") > 0, nodeMetrics);
        assertTrue(sample(nodeMetrics, "ballast_nbd_read_bytes_total") >= 16 * MIB, nodeMetrics);

        // The lost node comes back: its leftover replica (re-placed meanwhile) is deleted, not revived.
        cluster.node(victimIndex).start();
        await(() -> {
            try {
                cluster.adminStub(victimIndex).getVolume(GetVolumeRequest.newBuilder().setName(id).build());
                return false;
            } catch (StatusRuntimeException e) {
                return e.getStatus().getCode() == Status.Code.NOT_FOUND;
            }
        }, 60, "the returning node deletes its leftover replica of " + id);

        // Delete: refused while published, then while a snapshot depends on it; then everything goes.
        assertCode(Status.Code.FAILED_PRECONDITION, () -> csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build()));
        csi.controller().controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(id).setNodeId(home).build());
        assertCode(Status.Code.FAILED_PRECONDITION, () -> csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build()));
        csi.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(snap.getSnapshotId()).build());
        csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
        csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build()); // idempotent
        csi.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(clone.getVolumeId()).build());
        assertEquals(0, csi.controller().listVolumes(ListVolumesRequest.getDefaultInstance()).getEntriesCount());
        for (String n : repaired) {
            int i = Integer.parseInt(n.substring(1)) - 1;
            assertCode(Status.Code.NOT_FOUND, () -> cluster.adminStub(i).getVolume(GetVolumeRequest.newBuilder().setName(id).build()));
        }
    }

    /** The value of one sample line ({@code name{labels} value}) of a Prometheus text exposition. */
    private static double sample(String exposition, String series) {
        return ReplicatedCluster.sample(exposition, series)
                .orElseThrow(() -> new AssertionError("no sample " + series + " in:\n" + exposition));
    }

    private static void assertSample(String exposition, String series, double expected) {
        assertEquals(expected, sample(exposition, series), series);
    }

    private static void copy(String from, String to) {
        ExternalTool.run(120, List.of("nbdcopy", "--flush", from, to)).assertSuccess();
    }

    private static Path randomFile(Path p, long size, long seed) throws Exception {
        byte[] data = new byte[(int) size];
        new Random(seed).nextBytes(data);
        Files.write(p, data);
        return p;
    }

    private static boolean zeroFrom(Path p, long offset) throws Exception {
        byte[] all = Files.readAllBytes(p);
        for (int k = (int) offset; k < all.length; k++) {
            if (all[k] != 0) {
                return false;
            }
        }
        return all.length > offset;
    }

    private static String sha256(Path p, long length) throws Exception {
        byte[] all = Files.readAllBytes(p);
        int n = length == 0 ? all.length : (int) Math.min(length, all.length);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(all, 0, n);
        return HexFormat.of().formatHex(md.digest());
    }

    private static void assertCode(Status.Code code, Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            assertEquals(code, e.getStatus().getCode(), String.valueOf(e.getStatus().getDescription()));
            assertTrue(e.getStatus().getDescription() != null && !e.getStatus().getDescription().isBlank(),
                    "a refusal says why");
            return;
        }
        throw new AssertionError("expected " + code + ", the call succeeded");
    }

}
