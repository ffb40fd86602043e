package io.ballast.csi.node;

import static io.ballast.csi.InProcessCsi.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.NodeExpandVolumeRequest;
import io.ballast.proto.csi.v1.NodeGetCapabilitiesRequest;
import io.ballast.proto.csi.v1.NodeGetInfoRequest;
import io.ballast.proto.csi.v1.NodeGetVolumeStatsRequest;
import io.ballast.proto.csi.v1.NodeGrpc;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeServiceCapability;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnstageVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Node RPC with missing or wrong fields, bad paths and unknown volumes gets the spec's code
 * and touches nothing on the host: the device and mount seams here record any call, and the test
 * requires that none was made.
 */
class NodeServiceBadInputTest {
    @TempDir
    Path dir;
    private final List<String> touched = new CopyOnWriteArrayList<>();
    private Server server;
    private ManagedChannel channel;
    private NodeGrpc.NodeBlockingStub node;

    /** Every method records that the host would have been touched, then refuses. */
    private final class Untouchable implements VolumeDevices, Mounter {
        private <T> T touch(String what) {
            touched.add(what);
            throw new BallastException(ErrorCode.INTERNAL, "the test forbids touching the host: " + what);
        }
        public Path attach(String id, boolean shared, Optional<Passphrases> key) { return touch("attach " + id); }
        public void detach(String id) { touch("detach " + id); }
        public Optional<Path> device(String id) { return touch("device " + id); }
        public long refreshSize(String id) { return touch("refresh " + id); }
        public String condition(String id) { return touch("condition " + id); }
        public Optional<String> filesystemOf(Path d) { return touch("blkid " + d); }
        public void format(Path d, String fs, List<String> o) { touch("mkfs " + d); }
        public void mount(Path d, Path t, String fs, List<String> o) { touch("mount " + t); }
        public void bind(Path s, Path t, boolean ro) { touch("bind " + t); }
        public void unmount(Path t) { touch("umount " + t); }
        public Optional<Mount> mountAt(Path t) { return touch("mountinfo " + t); }
        public void growFilesystem(String fs, Path d, Path m) { touch("grow " + m); }
    }

    @BeforeEach
    void start() throws Exception {
        Untouchable host = new Untouchable();
        NodeService service = new NodeService(NodeService.self("n7", "c1", Map.of("zone", "b")), host, host, dir.resolve("state"), dir.resolve("keys"));
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        node = NodeGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
        assertEquals(List.of(), touched, "a refused call touched the host");
    }

    private static VolumeCapability mount(String fs, Mode mode) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fs))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    private static final VolumeCapability RWO = mount("ext4", Mode.SINGLE_NODE_WRITER);

    @Test
    void infoAndCapabilities() {
        var info = node.nodeGetInfo(NodeGetInfoRequest.getDefaultInstance());
        assertEquals("n7", info.getNodeId());
        assertEquals(Map.of("topology.ballast.csi.io/node", "n7", "topology.ballast.csi.io/zone", "b",
                "topology.ballast.csi.io/cluster", "c1"),
                info.getAccessibleTopology().getSegmentsMap());
        assertTrue(info.getMaxVolumesPerNode() > 0);
        var caps = node.nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList().stream()
                .map(c -> c.getRpc().getType()).toList();
        assertTrue(caps.containsAll(List.of(NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
                NodeServiceCapability.RPC.Type.EXPAND_VOLUME, NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
                NodeServiceCapability.RPC.Type.VOLUME_CONDITION)), caps.toString());
    }

    /** The volume context and the Secret must agree on encryption; the message says what to fix. */
    @Test
    void stageRefusesAnEncryptedVolumeWithoutItsKeyAndAKeyForAPlainVolume() {
        String staging = dir.resolve("staging").toString();
        Status missing = assertCode(Status.Code.FAILED_PRECONDITION, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(RWO)
                .putVolumeContext("encrypted", "true").putSecrets("wrongKey", "x").build()));
        assertTrue(missing.getDescription().contains("encryptionPassphrase")
                && missing.getDescription().contains("node-stage-secret-name")
                && missing.getDescription().contains("[wrongKey]"), missing.getDescription());
        Status plain = assertCode(Status.Code.FAILED_PRECONDITION, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(RWO)
                .putSecrets("encryptionPassphrase", "pw").build()));
        assertTrue(plain.getDescription().contains("is not encrypted"), plain.getDescription());
        assertFalse(Files.exists(dir.resolve("keys")), "no key was kept");
    }

    @Test
    void stageRefusesMissingAndMalformedFields() {
        String staging = dir.resolve("staging").toString();
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setStagingTargetPath(staging).setVolumeCapability(RWO).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setVolumeCapability(RWO).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath("relative/path").setVolumeCapability(RWO).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath("/var/lib/../../etc").setVolumeCapability(RWO).build()));
        Status s = assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(mount("btrfs", Mode.SINGLE_NODE_WRITER)).build()));
        assertTrue(s.getDescription().contains("btrfs"), s.getDescription());
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(mount("ext4", Mode.MULTI_NODE_MULTI_WRITER)).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(VolumeCapability.newBuilder()
                        .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(Mode.SINGLE_NODE_WRITER))).build()));
        for (String mkfs : List.of("-L $(reboot)", "/dev/sda", "-m 0; rm", "-a -b -c -d -e -f -g -h -i -j -k -l -m -n -o -p -q")) {
            Status bad = assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                    .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(RWO)
                    .putVolumeContext("mkfsOptions", mkfs).build()));
            assertTrue(bad.getDescription().contains("mkfsOptions"), bad.getDescription());
        }
        assertFalse(Files.exists(Path.of(staging)), "no staging directory was made");
    }

    @Test
    void publishOfAVolumeNotStagedIsFailedPrecondition() {
        String staging = dir.resolve("staging").toString();
        String target = dir.resolve("target").toString();
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId("v").setStagingTargetPath(staging).setVolumeCapability(RWO).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId("v").setTargetPath(target).setVolumeCapability(RWO).build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId("v").setTargetPath(target).setStagingTargetPath(staging).build()));
        Status s = assertCode(Status.Code.FAILED_PRECONDITION, () -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder()
                .setVolumeId("v").setTargetPath(target).setStagingTargetPath(staging).setVolumeCapability(RWO).build()));
        assertTrue(s.getDescription().contains("NodeStageVolume"), s.getDescription());
        assertFalse(Files.exists(Path.of(target)));
    }

    @Test
    void unknownVolumesAreNotFoundForStatsAndExpand() {
        assertCode(Status.Code.NOT_FOUND, () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("nope").setVolumePath("/mnt/x").build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("nope").build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumePath("/mnt/x").build()));
        assertCode(Status.Code.NOT_FOUND, () -> node.nodeExpandVolume(NodeExpandVolumeRequest.newBuilder()
                .setVolumeId("nope").setVolumePath("/mnt/x").build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeExpandVolume(NodeExpandVolumeRequest.newBuilder()
                .setVolumeId("nope").build()));
        // The volume is looked up before the path's shape is judged: an unknown volume is NOT_FOUND
        // whatever path comes with it (NodeExpandVolume has no absolute-path rule at all).
        assertCode(Status.Code.NOT_FOUND, () -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("nope").setVolumePath("relative/x").build()));
        assertCode(Status.Code.NOT_FOUND, () -> node.nodeExpandVolume(NodeExpandVolumeRequest.newBuilder()
                .setVolumeId("nope").setVolumePath("relative/x").build()));
    }

    @Test
    void unstageAndUnpublishOfWhatIsNotThereSucceedWithoutTouchingMounts() {
        node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId("nope")
                .setStagingTargetPath(dir.resolve("s").toString()).build());
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder()
                .setVolumeId("nope").build()));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder()
                .setTargetPath("/mnt/x").build()));
    }
}
