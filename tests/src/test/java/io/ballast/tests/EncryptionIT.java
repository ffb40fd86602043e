package io.ballast.tests;

import static io.ballast.replication.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerModifyVolumeRequest;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.GetCapacityRequest;
import io.ballast.proto.csi.v1.NodeExpandVolumeRequest;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnstageVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.ballast.tests.harness.ControllerProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.Privileged;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Encrypted volumes through the CSI services of real node processes, on real ext4 mounts: a marker
 * written into a file of an encrypted volume appears in no file of any node's data directory
 * (replica stores, Raft logs, entry journals, snapshots), while the same marker in a plain volume
 * is found there (the scan can fail). Wrong, missing and superfluous keys are refused with the
 * ciphertext unchanged; the passphrase rotates; a snapshot's clone, a replica added by a rebuild
 * (copy of every block) and a restart of every node read the file back with the key.
 */
class EncryptionIT {
    private static final long MIB = 1 << 20;
    private static final VolumeCapability RWO = VolumeCapability.newBuilder()
            .setMount(VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
            .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();

    private static final VolumeCapability BLOCK = VolumeCapability.newBuilder()
            .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();

    private ReplicatedCluster cluster;
    private ControllerProcess controller;
    private final List<CsiClient> clients = new ArrayList<>();
    private final List<Path> mounts = new ArrayList<>();
    private Path dir;

    @AfterEach
    void stop() {
        for (int i = mounts.size() - 1; i >= 0; i--) {
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

    @Test
    void encryptedVolumesHoldOnlyCiphertextAndReadBackWithTheirKey() throws Exception {
        Privileged.requireFuseAndLoop();
        dir = TestDirs.fresh("encryption");
        cluster = new ReplicatedCluster(dir, 4, 3, true).start();
        controller = ControllerProcess.start(cluster, dir);
        CsiClient ctl = csi(controller.csi());
        await(() -> ctl.controller().getCapacity(GetCapacityRequest.newBuilder().putParameters("replicas", "1")
                .build()).getAvailableCapacity() > 0 && cluster.catalogState().getNodesCount() == 4, 60, "all nodes registered");

        // The scan finds a marker a plain volume holds (so its silence below means something).
        byte[] plainMarker = marker("plain");
        Created plain = create(ctl, "pvc-plain", 32 * MIB, Map.of(), null);
        Path plainStaging = stage(plain, plain.homeIndex(), Map.of());
        writeFile(plainStaging.resolve("marker.txt"), plainMarker);
        unstage(plain, plain.homeIndex(), plainStaging);
        assertTrue(!nodesHolding(plainMarker).isEmpty(), "the scan finds the marker of a plain volume");

        // An encrypted volume: the file reads back, the marker is on no disk.
        byte[] secretMarker = marker("secret");
        Created enc = create(ctl, "pvc-enc", 64 * MIB, Map.of("encrypted", "true"), null);
        assertEquals("true", enc.context().get("encrypted"), "the volume context tells the node: " + enc.context());
        Path staging = stage(enc, enc.homeIndex(), key("old-pass", null));
        byte[] content = writeFile(staging.resolve("secret.txt"), secretMarker);
        assertArrayEquals(content, Files.readAllBytes(staging.resolve("secret.txt")));
        unstage(enc, enc.homeIndex(), staging);
        assertEquals(List.of(), nodesHolding(secretMarker), "the marker is stored in the clear");

        // Refusals change no byte of the replicas.
        Map<String, String> before = replicaDigests(enc);
        Status wrong = stageRefused(enc, enc.homeIndex(), key("not-the-pass", null));
        assertEquals(Status.Code.INVALID_ARGUMENT, wrong.getCode(), wrong.toString());
        assertTrue(wrong.getDescription().contains("opens none of its 1 key slot"), wrong.getDescription());
        Status none = stageRefused(enc, enc.homeIndex(), Map.of());
        assertEquals(Status.Code.FAILED_PRECONDITION, none.getCode(), none.toString());
        assertTrue(none.getDescription().contains("encryptionPassphrase"), none.getDescription());
        Status superfluous = stageRefused(plain, plain.homeIndex(), key("pass", null));
        assertEquals(Status.Code.FAILED_PRECONDITION, superfluous.getCode(), superfluous.toString());
        assertEquals(before, replicaDigests(enc), "a refused stage changed the volume's replicas");

        // Rotation: the Secret gets a new passphrase and keeps the old one as previous.
        staging = stage(enc, enc.homeIndex(), key("new-pass", "old-pass"));
        assertArrayEquals(content, Files.readAllBytes(staging.resolve("secret.txt")));
        unstage(enc, enc.homeIndex(), staging);
        assertEquals(Status.Code.INVALID_ARGUMENT, stageRefused(enc, enc.homeIndex(), key("old-pass", null)).getCode(),
                "the old passphrase's slot is gone");

        // A snapshot's clone is encrypted with the same key; a plain clone of it is refused.
        var snap = ctl.controller().createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-enc")
                .setSourceVolumeId(enc.id()).build()).getSnapshot();
        StatusRuntimeException leak = assertThrows(StatusRuntimeException.class,
                () -> create(ctl, "pvc-leak", 64 * MIB, Map.of(), snap.getSnapshotId()));
        assertEquals(Status.Code.INVALID_ARGUMENT, leak.getStatus().getCode(), leak.toString());
        Created clone = create(ctl, "pvc-clone", 64 * MIB, Map.of("encrypted", "true"), snap.getSnapshotId());
        Path cloneStaging = stage(clone, clone.homeIndex(), key("new-pass", null));
        assertArrayEquals(content, Files.readAllBytes(cloneStaging.resolve("secret.txt")));
        unstage(clone, clone.homeIndex(), cloneStaging);
        assertEquals(Status.Code.FAILED_PRECONDITION, stageRefused(clone, clone.homeIndex(), Map.of()).getCode());

        // A fourth replica, rebuilt by copying every block, then every node restarted: the new
        // replica's node reads the file with the key.
        modifyReplicas(ctl, enc.id(), 4);
        cluster.assertReplicasIdentical(enc.id()); // stops every node
        cluster.startNodes();
        int added = indexOf(cluster.placement(enc.id()).stream().filter(n -> !enc.placement().contains(n)).findFirst().orElseThrow());
        ctl.controller().controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(enc.id())
                .setNodeId(ReplicatedCluster.nodeId(enc.homeIndex())).build());
        ctl.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(enc.id())
                .setNodeId(ReplicatedCluster.nodeId(added)).setVolumeCapability(RWO).build());
        Path again = awaitStage(enc, added, key("new-pass", null));
        assertArrayEquals(content, Files.readAllBytes(again.resolve("secret.txt")));
        unstage(enc, added, again);
        assertEquals(List.of(), nodesHolding(secretMarker), "after clone, rebuild and restart the marker is still nowhere in the clear");
    }

    /**
     * Block mode and expansion: an encrypted raw block volume takes fio's verified random writes, a
     * marker written at its start is nowhere in the clear, the volume grows online (the device shows
     * the user's new size, not the replicas' with the key header) and the new space takes a second
     * marker; unstaged and staged again with the key, both read back.
     */
    @Test
    void anEncryptedBlockVolumeTakesWritesAndGrowsWithItsKey() throws Exception {
        Privileged.requireFuseAndLoop();
        ExternalTool.require("fio", "fio");
        dir = TestDirs.fresh("encryption-block");
        cluster = new ReplicatedCluster(dir, 3, 3, true).start();
        controller = ControllerProcess.start(cluster, dir);
        CsiClient ctl = csi(controller.csi());
        Created v = create(ctl, "pvc-enc-block", 32 * MIB, Map.of("encrypted", "true"), null, BLOCK);
        CsiClient node = csi(cluster.csiSocket(v.homeIndex()));
        Path staging = dir.resolve("staging-block");
        Path device = dir.resolve("pod").resolve("dev");
        publishBlock(node, v, staging, device);
        ExternalTool.run(300, List.of("fio", "--name=enc-block", "--filename=" + device, "--rw=randwrite", "--bs=4k",
                "--offset=4m", "--size=24m", "--ioengine=libaio", "--direct=1", "--iodepth=16", "--verify=crc32c",
                "--verify_fatal=1")).assertSuccess();
        byte[] first = marker("block-start");
        byte[] firstBlock = writeAt(device, 0, first);
        assertEquals(32 * MIB, deviceSize(device), "the device is the user's size");

        var grown = ctl.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.id())
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(48 * MIB)).setVolumeCapability(BLOCK).build());
        assertEquals(48 * MIB, grown.getCapacityBytes());
        var expanded = node.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(v.id())
                .setVolumePath(device.toString()).setVolumeCapability(BLOCK)
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(48 * MIB)).build());
        assertEquals(48 * MIB, expanded.getCapacityBytes());
        assertEquals(48 * MIB, deviceSize(device), "the device grew to the user's new size, online");
        byte[] second = marker("block-grown");
        byte[] secondBlock = writeAt(device, 40 * MIB, second);
        assertArrayEquals(firstBlock, readAt(device, 0), "the data before the growth is unchanged");
        unpublishBlock(node, v, staging, device);
        assertEquals(List.of(), nodesHolding(first), "the first marker is stored in the clear");
        assertEquals(List.of(), nodesHolding(second), "the marker in the grown space is stored in the clear");

        publishBlock(node, v, staging, device);
        assertEquals(48 * MIB, deviceSize(device));
        assertArrayEquals(firstBlock, readAt(device, 0), "read back after a new stage with the key");
        assertArrayEquals(secondBlock, readAt(device, 40 * MIB), "read back after a new stage with the key");
        unpublishBlock(node, v, staging, device);
    }

    private void publishBlock(CsiClient node, Created v, Path staging, Path device) {
        node.node().nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(v.id()).setStagingTargetPath(staging.toString())
                .setVolumeCapability(BLOCK).putAllVolumeContext(v.context()).putAllSecrets(key("block-pass", null)).build());
        node.node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(v.id())
                .setStagingTargetPath(staging.toString()).setTargetPath(device.toString()).setVolumeCapability(BLOCK).build());
        mounts.add(device);
    }

    private void unpublishBlock(CsiClient node, Created v, Path staging, Path device) {
        node.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(v.id()).setTargetPath(device.toString()).build());
        mounts.remove(device);
        node.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(v.id())
                .setStagingTargetPath(staging.toString()).build());
    }

    /** 1 MiB of lines holding {@code marker}, written at {@code offset} of the device (direct, synced); what was written. */
    private static byte[] writeAt(Path device, long offset, byte[] marker) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int line = 0; sb.length() < MIB; line++) {
            sb.append(line).append(' ').append(new String(marker, StandardCharsets.US_ASCII)).append('\n');
        }
        byte[] block = java.util.Arrays.copyOf(sb.toString().getBytes(StandardCharsets.US_ASCII), (int) MIB);
        Path file = Files.createTempFile("marker", ".bin");
        try {
            Files.write(file, block);
            ExternalTool.run(60, List.of("dd", "if=" + file, "of=" + device, "bs=1M", "count=1", "seek=" + offset / MIB,
                    "oflag=direct", "conv=fsync,notrunc")).assertSuccess();
        } finally {
            Files.deleteIfExists(file);
        }
        return block;
    }

    /** 1 MiB read at {@code offset} of the device, past the page cache. */
    private static byte[] readAt(Path device, long offset) throws IOException {
        Path file = Files.createTempFile("readback", ".bin");
        try {
            ExternalTool.run(60, List.of("dd", "if=" + device, "of=" + file, "bs=1M", "count=1", "skip=" + offset / MIB,
                    "iflag=direct")).assertSuccess();
            return Files.readAllBytes(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static long deviceSize(Path device) {
        return Long.parseLong(ExternalTool.run(30, List.of("blockdev", "--getsize64", device.toString())).assertSuccess()
                .stdout().strip());
    }

    private record Created(String id, int homeIndex, List<String> placement, Map<String, String> context) {}

    private Created create(CsiClient ctl, String name, long bytes, Map<String, String> parameters, String snapshotId) {
        return create(ctl, name, bytes, parameters, snapshotId, RWO);
    }

    private Created create(CsiClient ctl, String name, long bytes, Map<String, String> parameters, String snapshotId,
            VolumeCapability capability) {
        CreateVolumeRequest.Builder req = CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(capability)
                .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(bytes)).putParameters("replicas", "3")
                .putAllParameters(parameters);
        if (snapshotId != null) {
            req.setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                    VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snapshotId)));
        }
        var v = ctl.controller().createVolume(req.build()).getVolume();
        assertEquals(bytes, v.getCapacityBytes(), "the user's size, not the replicas' (key header included)");
        List<String> placement = cluster.placement(v.getVolumeId());
        ctl.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
                .setNodeId(placement.get(0)).setVolumeCapability(capability).build());
        return new Created(v.getVolumeId(), indexOf(placement.get(0)), placement, v.getVolumeContextMap());
    }

    private static Map<String, String> key(String passphrase, String previous) {
        Map<String, String> m = new TreeMap<>(Map.of("encryptionPassphrase", passphrase));
        if (previous != null) {
            m.put("previousEncryptionPassphrase", previous);
        }
        return m;
    }

    private NodeStageVolumeRequest stageRequest(Created v, Map<String, String> secrets) {
        Path staging = dir.resolve("staging-" + v.id());
        return NodeStageVolumeRequest.newBuilder().setVolumeId(v.id()).setStagingTargetPath(staging.toString())
                .setVolumeCapability(RWO).putAllVolumeContext(v.context()).putAllSecrets(secrets).build();
    }

    private Path stage(Created v, int node, Map<String, String> secrets) {
        NodeStageVolumeRequest r = stageRequest(v, secrets);
        csi(cluster.csiSocket(node)).node().nodeStageVolume(r);
        Path staging = Path.of(r.getStagingTargetPath());
        mounts.add(staging);
        return staging;
    }

    /** Stages once the restarted node answers (its group may still be electing a leader). */
    private Path awaitStage(Created v, int node, Map<String, String> secrets) {
        StatusRuntimeException[] last = {null};
        Path[] staged = {null};
        await(() -> {
            try {
                staged[0] = stage(v, node, secrets);
                return true;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE && e.getStatus().getCode() != Status.Code.ABORTED) {
                    throw e;
                }
                last[0] = e;
                return false;
            }
        }, 90, "staging on the restarted node " + ReplicatedCluster.nodeId(node));
        return staged[0];
    }

    private Status stageRefused(Created v, int node, Map<String, String> secrets) {
        NodeStageVolumeRequest r = stageRequest(v, secrets);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> csi(cluster.csiSocket(node)).node().nodeStageVolume(r));
        assertTrue(ExternalTool.run(30, List.of("findmnt", r.getStagingTargetPath())).exitCode() != 0, "nothing mounted");
        return e.getStatus();
    }

    private void unstage(Created v, int node, Path staging) {
        csi(cluster.csiSocket(node)).node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(v.id())
                .setStagingTargetPath(staging.toString()).build());
        mounts.remove(staging);
    }

    private void modifyReplicas(CsiClient ctl, String id, int replicas) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (true) {
            try {
                ctl.controller().controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder().setVolumeId(id)
                        .putMutableParameters("replicas", Integer.toString(replicas)).build());
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ABORTED || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(1000);
            }
        }
    }

    /** A unique marker, so nothing else on the disk holds it by chance. */
    private static byte[] marker(String kind) {
        return ("ballast-" + kind + "-marker-" + UUID.randomUUID()).getBytes(StandardCharsets.US_ASCII);
    }

    /** 1 MiB of lines holding the marker, synced to the device. */
    private static byte[] writeFile(Path file, byte[] marker) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int line = 0; sb.length() < MIB; line++) {
            sb.append(line).append(' ').append(new String(marker, StandardCharsets.US_ASCII)).append('\n');
        }
        byte[] content = sb.toString().getBytes(StandardCharsets.US_ASCII);
        Files.write(file, content);
        ExternalTool.run(60, List.of("sync", "-f", file.toString())).assertSuccess();
        return content;
    }

    /** The files under the nodes' data directories (outside their FUSE mounts) that contain {@code needle}. */
    private List<String> nodesHolding(byte[] needle) throws IOException {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < cluster.size(); i++) {
            Path data = cluster.node(i).dataDir();
            Path run = data.resolve("run");
            try (Stream<Path> files = Files.walk(data)) {
                for (Path f : files.filter(p -> !p.startsWith(run) && Files.isRegularFile(p)).toList()) {
                    if (contains(f, needle)) {
                        found.add(f.toString());
                    }
                }
            }
        }
        return found;
    }

    private static boolean contains(Path file, byte[] needle) throws IOException {
        byte[] buf = new byte[(4 << 20) + needle.length];
        int carry = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf, carry, buf.length - carry)) > 0) {
                int len = carry + n;
                if (indexOf(buf, len, needle) >= 0) {
                    return true;
                }
                carry = Math.min(needle.length - 1, len);
                System.arraycopy(buf, len - carry, buf, 0, carry);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return false; // a log segment rolled meanwhile
        }
        return false;
    }

    private static int indexOf(byte[] hay, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** SHA-256 of each replica's data file of {@code v}, by node. */
    private Map<String, String> replicaDigests(Created v) throws Exception {
        int[] nodes = v.placement().stream().mapToInt(EncryptionIT::indexOf).toArray();
        cluster.awaitConverged(v.id(), 60, nodes);
        Map<String, String> digests = new TreeMap<>();
        for (int i : nodes) {
            Path data = cluster.node(i).dataDir().resolve("volumes").resolve(v.id()).resolve("data");
            {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                try (InputStream in = Files.newInputStream(data)) {
                    byte[] b = new byte[1 << 20];
                    int n;
                    while ((n = in.read(b)) > 0) {
                        md.update(b, 0, n);
                    }
                }
                digests.put(ReplicatedCluster.nodeId(i), HexFormat.of().formatHex(md.digest()));
            }
        }
        return digests;
    }

    private CsiClient csi(Path socket) {
        return csi(new CsiClient(socket));
    }

    private CsiClient csi(CsiClient c) {
        clients.add(c);
        return c;
    }

    private static int indexOf(String nodeId) {
        return Integer.parseInt(nodeId.substring(1)) - 1;
    }
}
