package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.GetCapacityRequest;
import io.ballast.proto.csi.v1.NodeExpandVolumeRequest;
import io.ballast.proto.csi.v1.NodeGetVolumeStatsRequest;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnstageVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeUsage;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.Privileged;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Volumes reaching a "pod" the way kubelet drives the CSI Node service, on real kernel devices:
 * a 3-replica volume staged as ext4 (FUSE file + loop device, mkfs, mount) and published by bind
 * mount; fio writes and verifies files there while a replica node is killed with kill -9 and the
 * Raft leader (moved off the pod's node first) is killed too, and then the pod's node itself (the
 * node plugin, which serves the FUSE file) is killed and restarted under I/O; the filesystem sees no
 * error and is clean (e2fsck) after unstage. A block volume is published as a device file and verified with fio;
 * an xfs volume grows online after a controller + node expansion and repairs clean.
 */
class NodeServiceIT {
    private static final long MIB = 1 << 20;

    private ReplicatedCluster cluster;
    private ControllerProcess controller;
    private final List<CsiClient> clients = new ArrayList<>();
    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void stop() {
        for (int i = mounts.size() - 1; i >= 0; i--) { // a failed test must not leave mounts behind
            ExternalTool.run(30, List.of("umount", "-l", mounts.get(i).toString()));
        }
        clients.forEach(CsiClient::close);
        if (controller != null) {
            controller.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static VolumeCapability mount(String fs) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fs))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
    }

    private static VolumeCapability block() {
        return VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
    }

    private CsiClient csi(Path socket) {
        CsiClient c = new CsiClient(socket);
        clients.add(c);
        return c;
    }

    private record Volume(String id, String home, int homeIndex, List<String> placement, Map<String, String> context) {}

    private Volume create(CsiClient ctl, String name, long bytes, VolumeCapability cap) {
        return create(ctl, name, bytes, cap, Map.of());
    }

    private Volume create(CsiClient ctl, String name, long bytes, VolumeCapability cap, Map<String, String> parameters) {
        var v = ctl.controller().createVolume(CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(cap)
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(bytes)).putParameters("replicas", "3")
                .putAllParameters(parameters).build()).getVolume();
        List<String> placement = cluster.placement(v.getVolumeId());
        String home = placement.get(0);
        ctl.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
                .setNodeId(home).setVolumeCapability(cap).build());
        return new Volume(v.getVolumeId(), home, Integer.parseInt(home.substring(1)) - 1, placement, v.getVolumeContextMap());
    }

    @Test
    void filesystemsAndBlockDevicesSurviveReplicaAndLeaderLoss() throws Exception {
        Privileged.requireFuseAndLoop();
        ExternalTool.require("fio", "fio");
        ExternalTool.require("mkfs.xfs", "xfsprogs");
        Path dir = TestDirs.fresh("csi-node");
        cluster = new ReplicatedCluster(dir, 4, 3, true).start();
        controller = ControllerProcess.start(cluster, dir);
        CsiClient ctl = controller.csi();
        await(() -> ctl.controller().getCapacity(GetCapacityRequest.newBuilder().putParameters("replicas", "1")
                .build()).getAvailableCapacity() > 0 && cluster.catalogState().getNodesCount() == 4,
                60, "all nodes registered");

        // ext4: stage (format + mount), publish (bind), and again (idempotent).
        Volume fs = create(ctl, "pvc-ext4", 256 * MIB, mount("ext4"), Map.of("mkfsOptions", "-L pvcdata -m 0"));
        CsiClient node = csi(cluster.csiSocket(fs.homeIndex()));
        Path staging = dir.resolve("staging-ext4");
        Path target = dir.resolve("pod1").resolve("data");
        NodeStageVolumeRequest stage = NodeStageVolumeRequest.newBuilder().setVolumeId(fs.id())
                .setStagingTargetPath(staging.toString()).setVolumeCapability(mount("ext4")).putAllVolumeContext(fs.context()).build();
        node.node().nodeStageVolume(stage);
        mounts.add(staging);
        node.node().nodeStageVolume(stage);
        String loop = ExternalTool.run(30, List.of("findmnt", "-n", "-o", "SOURCE", staging.toString())).assertSuccess().stdout().strip();
        assertEquals("pvcdata", ExternalTool.run(30, List.of("blkid", "-s", "LABEL", "-o", "value", loop)).assertSuccess()
                .stdout().strip(), "the StorageClass's mkfsOptions reached mkfs");
        NodePublishVolumeRequest publish = NodePublishVolumeRequest.newBuilder().setVolumeId(fs.id())
                .setStagingTargetPath(staging.toString()).setTargetPath(target.toString()).setVolumeCapability(mount("ext4")).build();
        node.node().nodePublishVolume(publish);
        mounts.add(target);
        node.node().nodePublishVolume(publish);
        assertTrue(ExternalTool.run(30, List.of("findmnt", "-n", "-o", "FSTYPE", target.toString())).assertSuccess()
                .stdout().contains("ext4"));

        // fio writes and verifies files while a replica node dies, then the leader (moved off the pod's node).
        CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(() -> ExternalTool.run(600, List.of("fio",
                "--name=pod", "--directory=" + target, "--rw=randwrite", "--bs=4k", "--size=48m", "--numjobs=2",
                "--time_based", "--runtime=20", // spans both kills whatever the machine's speed
                "--ioengine=libaio", "--direct=1", "--iodepth=16", "--verify=crc32c", "--verify_fatal=1",
                "--fsync_on_close=1", "--output-format=json")));
        int other = indexOf(fs.placement().stream().filter(n -> !n.equals(fs.home())).findFirst().orElseThrow());
        cluster.awaitCommits(fs.id(), fs.homeIndex(), 100, 60, "fio writes");
        cluster.node(other).kill9();
        cluster.awaitCommits(fs.id(), fs.homeIndex(), 100, 60, "fio writes with " + ReplicatedCluster.nodeId(other) + " down");
        cluster.node(other).start();
        int third = indexOf(fs.placement().stream().filter(n -> !n.equals(fs.home()) && indexOf(n) != other).findFirst().orElseThrow());
        cluster.adminStub(fs.homeIndex()).transferLeadership(TransferLeadershipRequest.newBuilder().setName(fs.id())
                .setTargetNodeId(ReplicatedCluster.nodeId(third)).build());
        cluster.node(third).kill9();
        cluster.awaitCommits(fs.id(), fs.homeIndex(), 100, 60, "fio writes after the leader's kill -9");
        cluster.node(third).start();
        ExternalTool.Result done = fio.get();
        done.assertSuccess();
        assertTrue(done.stdout().contains("\"error\" : 0"), done.stdout());

        // The node plugin itself (the pod's node: it serves the FUSE file under the loop device) is
        // killed -9 under I/O and restarted. Its descriptor keeper holds the FUSE connection, so the
        // kernel queues the I/O instead of failing it; the restarted node resumes the staged volume,
        // takes the connection over, the kernel resends what was unanswered, and fio sees no error.
        BallastNodeProcess home = cluster.node(fs.homeIndex());
        Path keeperPid = home.dataDir().resolve("run").resolve("fd-keeper.sock.pid");
        assertTrue(Files.exists(keeperPid), "staging started a descriptor keeper: " + keeperPid);
        long keeper = Long.parseLong(Files.readString(keeperPid).strip());
        CompletableFuture<ExternalTool.Result> fio2 = CompletableFuture.supplyAsync(() -> ExternalTool.run(600, List.of("fio",
                "--name=restart", "--directory=" + target, "--rw=randwrite", "--bs=4k", "--size=32m", "--numjobs=2",
                "--time_based", "--runtime=30", "--ioengine=libaio", "--direct=1", "--iodepth=16", "--verify=crc32c",
                "--verify_fatal=1", "--fsync_on_close=1", "--output-format=json")));
        cluster.awaitCommits(fs.id(), fs.homeIndex(), 100, 60, "the second fio writes");
        long logFrom = Files.size(home.log());
        home.kill9(); // the restart takes seconds: the kernel queues the volume's I/O meanwhile
        home.start();
        await(() -> home.logText().substring((int) logFrom).contains("NodeService - volume " + fs.id() + " resumed"),
                60, "the node resumed the volume after kill -9");
        // And a clean stop (SIGTERM) under I/O: the node leaves the device to its successor rather
        // than failing what is in flight while its volumes close.
        cluster.awaitCommits(fs.id(), fs.homeIndex(), 100, 60, "fio writes after the resume");
        long logFrom2 = Files.size(home.log());
        home.stop();
        home.start();
        ExternalTool.Result restarted = fio2.get();
        restarted.assertSuccess();
        assertTrue(restarted.stdout().contains("\"error\" : 0"), restarted.stdout());
        assertTrue(ProcessHandle.of(keeper).map(ProcessHandle::isAlive).orElse(false), "the same keeper held on");
        String restartLog = home.logText().substring((int) logFrom);
        assertTrue(restartLog.contains("took over /dev/loop"), "the restarted node took the device over:\n" + restartLog);
        String stopLog = home.logText().substring((int) logFrom2);
        assertTrue(stopLog.contains("stays attached for the next start"), "a clean stop leaves the device:\n" + stopLog);
        assertTrue(stopLog.contains("NodeService - volume " + fs.id() + " resumed"), "and the next start resumes it:\n" + stopLog);
        node = csi(cluster.csiSocket(fs.homeIndex()));

        var stats = node.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(fs.id())
                .setVolumePath(target.toString()).build());
        assertFalse(stats.getVolumeCondition().getAbnormal(), stats.getVolumeCondition().getMessage());
        long size = bytes(stats.getUsageList());
        assertTrue(size > 200 * MIB && size <= 256 * MIB, "ext4 size " + size);

        // Unpublish + unstage, then the filesystem is clean (checked on a copy read over NBD).
        node.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(fs.id()).setTargetPath(target.toString()).build());
        node.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(fs.id()).setStagingTargetPath(staging.toString()).build());
        assertFalse(Files.exists(target), "unpublish removes the target");
        assertTrue(ExternalTool.run(30, List.of("findmnt", staging.toString())).exitCode() != 0, "unstage unmounts");
        fsck(dir, fs, List.of("e2fsck", "-f", "-n"));
        ctl.controller().controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(fs.id()).setNodeId(fs.home()).build());

        // Block: the device file bind-mounted at the target, raw fio verify on it.
        Volume raw = create(ctl, "pvc-block", 128 * MIB, block());
        CsiClient rawNode = csi(cluster.csiSocket(raw.homeIndex()));
        Path rawStaging = dir.resolve("staging-block");
        Path device = dir.resolve("pod2").resolve("dev");
        rawNode.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(raw.id())
                .setStagingTargetPath(rawStaging.toString()).setVolumeCapability(block()).build());
        rawNode.node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(raw.id())
                .setStagingTargetPath(rawStaging.toString()).setTargetPath(device.toString()).setVolumeCapability(block()).build());
        mounts.add(device);
        ExternalTool.run(300, List.of("fio", "--name=raw", "--filename=" + device, "--rw=randwrite", "--bs=4k",
                "--size=64m", "--ioengine=libaio", "--direct=1", "--iodepth=32", "--verify=crc32c", "--verify_fatal=1"))
                .assertSuccess();
        var rawStats = rawNode.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(raw.id())
                .setVolumePath(device.toString()).build());
        assertEquals(128 * MIB, rawStats.getUsage(0).getTotal());
        rawNode.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(raw.id()).setTargetPath(device.toString()).build());
        rawNode.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(raw.id()).setStagingTargetPath(rawStaging.toString()).build());

        // A multi-writer block volume (KubeVirt live migration) staged on two nodes: both write at
        // once (direct I/O), and what one wrote is what the other reads right after.
        VolumeCapability rwx = VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)).build();
        Volume shared = create(ctl, "pvc-rwx", 64 * MIB, rwx);
        String second = shared.placement().get(1);
        ctl.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(shared.id())
                .setNodeId(second).setVolumeCapability(rwx).build());
        List<Path> devices = new ArrayList<>();
        for (String n : List.of(shared.home(), second)) {
            CsiClient c = csi(cluster.csiSocket(indexOf(n)));
            Path st = dir.resolve("staging-rwx-" + n);
            Path dev = dir.resolve("vm-" + n).resolve("dev");
            c.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(shared.id())
                    .setStagingTargetPath(st.toString()).setVolumeCapability(rwx).build());
            c.node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(shared.id())
                    .setStagingTargetPath(st.toString()).setTargetPath(dev.toString()).setVolumeCapability(rwx).build());
            mounts.add(dev);
            devices.add(dev);
        }
        List<CompletableFuture<ExternalTool.Result>> both = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Path dev = devices.get(i);
            String offset = (i * 16) + "m";
            both.add(CompletableFuture.supplyAsync(() -> ExternalTool.run(300, List.of("fio", "--name=vm", "--filename=" + dev,
                    "--rw=randwrite", "--bs=4k", "--size=16m", "--offset=" + offset, "--ioengine=libaio", "--direct=1",
                    "--iodepth=16", "--verify=crc32c", "--verify_fatal=1"))));
        }
        for (var f : both) {
            f.get().assertSuccess();
        }
        for (int round = 0; round < 6; round++) {
            Path from = devices.get(round % 2);
            Path to = devices.get(1 - round % 2);
            byte[] pattern = new byte[1 << 20];
            new java.util.Random(round).nextBytes(pattern);
            Path src = dir.resolve("pattern-" + round);
            Files.write(src, pattern);
            ExternalTool.run(60, List.of("dd", "if=" + src, "of=" + from, "bs=1M", "seek=40", "oflag=direct", "conv=notrunc"))
                    .assertSuccess();
            Path back = dir.resolve("read-" + round);
            ExternalTool.run(60, List.of("dd", "if=" + to, "of=" + back, "bs=1M", "skip=40", "count=1", "iflag=direct"))
                    .assertSuccess();
            assertTrue(java.util.Arrays.equals(pattern, Files.readAllBytes(back)),
                    "round " + round + ": the other node read what it was not written");
        }
        for (int i = 0; i < 2; i++) {
            String n = i == 0 ? shared.home() : second;
            CsiClient c = csi(cluster.csiSocket(indexOf(n)));
            c.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(shared.id())
                    .setTargetPath(devices.get(i).toString()).build());
            c.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(shared.id())
                    .setStagingTargetPath(dir.resolve("staging-rwx-" + n).toString()).build());
        }

        // A node without a replica stages a volume too (issue 13): a diskless frontend whose reads
        // and writes go to the leader; the node finds the replicas in the catalog.
        String remoteId = ctl.controller().createVolume(CreateVolumeRequest.newBuilder().setName("pvc-remote")
                .addVolumeCapabilities(block()).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(64 * MIB))
                .putParameters("replicas", "3").build()).getVolume().getVolumeId();
        List<String> remotePlacement = cluster.placement(remoteId);
        int outside = java.util.stream.IntStream.range(0, 4)
                .filter(i -> !remotePlacement.contains(ReplicatedCluster.nodeId(i))).findFirst().orElseThrow();
        ctl.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(remoteId)
                .setNodeId(ReplicatedCluster.nodeId(outside)).setVolumeCapability(block()).build());
        CsiClient outsideNode = csi(cluster.csiSocket(outside));
        Path remoteStaging = dir.resolve("staging-remote");
        Path remoteDevice = dir.resolve("pod4").resolve("dev");
        outsideNode.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(remoteId)
                .setStagingTargetPath(remoteStaging.toString()).setVolumeCapability(block()).build());
        outsideNode.node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(remoteId)
                .setStagingTargetPath(remoteStaging.toString()).setTargetPath(remoteDevice.toString())
                .setVolumeCapability(block()).build());
        mounts.add(remoteDevice);
        ExternalTool.run(300, List.of("fio", "--name=remote", "--filename=" + remoteDevice, "--rw=randwrite", "--bs=64k",
                "--size=32m", "--ioengine=libaio", "--direct=1", "--iodepth=16", "--verify=crc32c", "--verify_fatal=1"))
                .assertSuccess();
        assertTrue(cluster.node(outside).logText().contains("attached here without a local replica"),
                "n" + (outside + 1) + " attached " + remoteId + " as a diskless frontend");
        outsideNode.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(remoteId)
                .setTargetPath(remoteDevice.toString()).build());
        outsideNode.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(remoteId)
                .setStagingTargetPath(remoteStaging.toString()).build());

        // xfs: formatted, written, grown online through the controller and the node, clean after unstage.
        // (Online ext4 growth needs CAP_SYS_RESOURCE for resize2fs, which this sandbox withholds even
        // from root; xfs_growfs needs only CAP_SYS_ADMIN.)
        Volume x = create(ctl, "pvc-xfs", 320 * MIB, mount("xfs"));
        CsiClient xNode = csi(cluster.csiSocket(x.homeIndex()));
        Path xStaging = dir.resolve("staging-xfs");
        Path xTarget = dir.resolve("pod3").resolve("data");
        xNode.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(x.id())
                .setStagingTargetPath(xStaging.toString()).setVolumeCapability(mount("xfs")).build());
        mounts.add(xStaging);
        xNode.node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(x.id())
                .setStagingTargetPath(xStaging.toString()).setTargetPath(xTarget.toString()).setVolumeCapability(mount("xfs")).build());
        mounts.add(xTarget);
        Files.writeString(xTarget.resolve("hello.txt"), "written on xfs\n");
        long before = bytes(xNode.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(x.id())
                .setVolumePath(xTarget.toString()).build()).getUsageList());
        var grown = ctl.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(x.id())
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(640 * MIB)).setVolumeCapability(mount("xfs")).build());
        assertTrue(grown.getNodeExpansionRequired());
        var expanded = xNode.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(x.id())
                .setVolumePath(xTarget.toString()).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(640 * MIB)).build());
        assertEquals(640 * MIB, expanded.getCapacityBytes());
        long after = bytes(xNode.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(x.id())
                .setVolumePath(xTarget.toString()).build()).getUsageList());
        assertTrue(after > before + 250 * MIB, "xfs grew online: " + before + " -> " + after);
        assertEquals("written on xfs\n", Files.readString(xTarget.resolve("hello.txt")));
        xNode.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(x.id()).setTargetPath(xTarget.toString()).build());
        xNode.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(x.id())
                .setStagingTargetPath(xStaging.toString()).build());
        fsck(dir, x, List.of("xfs_repair", "-n", "-f"));
    }

    /** Reads the volume over NBD on its home node into a file and runs the checker on it. */
    private void fsck(Path dir, Volume v, List<String> checker) {
        String uri = cluster.adminStub(v.homeIndex()).attachVolume(AttachVolumeRequest.newBuilder().setName(v.id()).build()).getNbdUri();
        Path image = dir.resolve(v.id() + ".img");
        ExternalTool.run(300, List.of("nbdcopy", uri, image.toString())).assertSuccess();
        cluster.adminStub(v.homeIndex()).detachVolume(DetachVolumeRequest.newBuilder().setName(v.id()).build());
        List<String> cmd = new ArrayList<>(checker);
        cmd.add(image.toString());
        ExternalTool.run(300, cmd).assertSuccess();
    }

    private static long bytes(List<VolumeUsage> usage) {
        return usage.stream().filter(u -> u.getUnit() == VolumeUsage.Unit.BYTES).findFirst().orElseThrow().getTotal();
    }

    private static int indexOf(String nodeId) {
        return Integer.parseInt(nodeId.substring(1)) - 1;
    }

}
