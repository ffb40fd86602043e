package io.ballast.csi.node;

import static io.ballast.csi.InProcessCsi.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.NodeGrpc;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
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
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Node service's bookkeeping over a host simulated in memory (devices appear on attach, mounts
 * are a table): repeated calls do nothing twice, other capabilities or paths are ALREADY_EXISTS,
 * single-writer publication is exclusive, mkfs options from the volume context reach mkfs only on
 * first use, and a restarted service attaches again what its records say is staged, retrying while
 * the volume is unavailable. The real devices and mounts are NodeServiceIT's.
 */
class NodeServiceFlowTest {
    @TempDir
    Path dir;
    private final List<Server> servers = new CopyOnWriteArrayList<>();
    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

    /** Devices and mounts in memory; every call is logged in order. */
    static final class FakeHost implements VolumeDevices, Mounter {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final Map<String, Path> devices = new ConcurrentHashMap<>();
        final Map<Path, Mount> mounts = new ConcurrentHashMap<>();
        final Map<Path, String> filesystems = new ConcurrentHashMap<>();
        /** Per volume, the failures its next attaches throw, in order (then they succeed). */
        final Map<String, Queue<ErrorCode>> attachFailures = new ConcurrentHashMap<>();

        public synchronized Path attach(String id, boolean shared, Optional<Passphrases> key) {
            calls.add("attach " + id + (shared ? " shared" : "") + (key.isPresent() ? " encrypted" : ""));
            ErrorCode fail = attachFailures.getOrDefault(id, new ArrayDeque<>()).poll();
            if (fail != null) {
                throw new BallastException(fail, "simulated: " + fail);
            }
            return devices.computeIfAbsent(id, v -> Path.of("/dev/loop" + devices.size()));
        }

        public void detach(String id) {
            calls.add("detach " + id);
            devices.remove(id);
        }

        public Optional<Path> device(String id) {
            return Optional.ofNullable(devices.get(id));
        }

        public long refreshSize(String id) {
            return 1 << 30;
        }

        public String condition(String id) {
            return "healthy";
        }

        public Optional<String> filesystemOf(Path d) {
            return Optional.ofNullable(filesystems.get(d));
        }

        public void format(Path d, String fs, List<String> options) {
            calls.add("mkfs." + fs + " " + String.join(" ", options) + " " + d);
            filesystems.put(d, fs);
        }

        public void mount(Path d, Path t, String fs, List<String> options) {
            calls.add("mount " + d + " " + t);
            mounts.put(t, new Mount(t, d.toString(), fs, options.contains("ro"), "/"));
        }

        public void bind(Path s, Path t, boolean ro) {
            calls.add("bind " + s + " " + t + (ro ? " ro" : ""));
            mounts.put(t, new Mount(t, s.toString(), "bind", ro, "/"));
        }

        public void unmount(Path t) {
            calls.add("umount " + t);
            mounts.remove(t);
        }

        public Optional<Mount> mountAt(Path t) {
            return Optional.ofNullable(mounts.get(t));
        }

        public void growFilesystem(String fs, Path d, Path m) {
            calls.add("grow " + m);
        }

        long count(String prefix) {
            return calls.stream().filter(c -> c.startsWith(prefix)).count();
        }
    }

    private NodeGrpc.NodeBlockingStub serve(NodeService service) throws Exception {
        String name = InProcessServerBuilder.generateName();
        servers.add(InProcessServerBuilder.forName(name).addService(service).build().start());
        ManagedChannel c = InProcessChannelBuilder.forName(name).build();
        channels.add(c);
        return NodeGrpc.newBlockingStub(c);
    }

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
    }

    private static VolumeCapability mount(String fs, Mode mode) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fs))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    private NodeStageVolumeRequest stage(String id, Path staging, VolumeCapability cap) {
        return NodeStageVolumeRequest.newBuilder().setVolumeId(id).setStagingTargetPath(staging.toString())
                .setVolumeCapability(cap).putVolumeContext("mkfsOptions", "-m 0 -L data").build();
    }

    private NodePublishVolumeRequest publish(String id, Path staging, Path target, VolumeCapability cap) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId(id).setStagingTargetPath(staging.toString())
                .setTargetPath(target.toString()).setVolumeCapability(cap).build();
    }

    @Test
    void repeatedCallsDoNothingTwiceAndOtherArgumentsAreRefused() throws Exception {
        FakeHost host = new FakeHost();
        var node = serve(new NodeService(NodeService.self("n1", "c1", Map.of()), host, host, dir.resolve("state"), dir.resolve("keys")));
        Path staging = dir.resolve("staging");
        VolumeCapability rwop = mount("ext4", Mode.SINGLE_NODE_SINGLE_WRITER);
        node.nodeStageVolume(stage("v1", staging, rwop));
        node.nodeStageVolume(stage("v1", staging, rwop));
        assertEquals(List.of("attach v1", "mkfs.ext4 -m 0 -L data /dev/loop0", "mount /dev/loop0 " + staging), host.calls);

        Status other = assertCode(Status.Code.ALREADY_EXISTS, () -> node.nodeStageVolume(stage("v1", staging,
                mount("xfs", Mode.SINGLE_NODE_SINGLE_WRITER))));
        assertTrue(other.getDescription().contains("other capabilities"), other.getDescription());
        assertCode(Status.Code.ALREADY_EXISTS, () -> node.nodeStageVolume(stage("v1", dir.resolve("elsewhere"), rwop)));

        Path target = dir.resolve("pod-a").resolve("data");
        node.nodePublishVolume(publish("v1", staging, target, rwop));
        node.nodePublishVolume(publish("v1", staging, target, rwop)); // idempotent
        assertEquals(1, host.count("bind"));
        Status second = assertCode(Status.Code.FAILED_PRECONDITION, () -> node.nodePublishVolume(
                publish("v1", staging, dir.resolve("pod-b").resolve("data"), rwop)));
        assertTrue(second.getDescription().contains("SINGLE_NODE_SINGLE_WRITER"), second.getDescription());
        assertEquals(1, host.count("bind"), "the refused publication made no mount");

        assertCode(Status.Code.FAILED_PRECONDITION, () -> node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder()
                .setVolumeId("v1").setStagingTargetPath(staging.toString()).build())); // still published
        node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId("v1").setTargetPath(target.toString()).build());
        node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId("v1").setStagingTargetPath(staging.toString()).build());
        node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId("v1").setStagingTargetPath(staging.toString()).build());
        assertEquals(List.of("umount " + target, "umount " + staging, "detach v1"),
                host.calls.subList(host.calls.size() - 3, host.calls.size()));
        assertTrue(host.mounts.isEmpty() && host.devices.isEmpty());

        // Staged again: the filesystem is there, so mkfs (and its options) is not run a second time.
        node.nodeStageVolume(stage("v1", staging, rwop));
        assertEquals(1, host.count("mkfs"));
    }

    @Test
    void aRestartedServiceAttachesWhatItsRecordsSayIsStaged() throws Exception {
        FakeHost before = new FakeHost();
        Path state = dir.resolve("state");
        var node = serve(new NodeService(NodeService.self("n1", "c1", Map.of()), before, before, state, dir.resolve("keys")));
        VolumeCapability rwo = mount("ext4", Mode.SINGLE_NODE_WRITER);
        node.nodeStageVolume(stage("v1", dir.resolve("s1"), rwo));
        node.nodeStageVolume(stage("v2", dir.resolve("s2"), rwo));
        node.nodeStageVolume(stage("gone", dir.resolve("s3"), rwo));

        // The process restarts: same records, devices not attached yet; the mounts are still there.
        FakeHost after = new FakeHost();
        after.mounts.putAll(before.mounts);
        // v1 finds no quorum at first; "gone" has no replica here any more.
        after.attachFailures.put("v1", new ArrayDeque<>(List.of(ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE)));
        after.attachFailures.put("gone", new ArrayDeque<>(List.of(ErrorCode.NOT_FOUND)));
        NodeService restarted = new NodeService(NodeService.self("n1", "c1", Map.of()), after, after, state, dir.resolve("keys"));
        restarted.resumeStaged();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (after.devices.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(1500); // longer than the retry interval: a retry of "gone" would show now
        assertEquals(Map.of("v1", true, "v2", true), Map.of("v1", after.devices.containsKey("v1"), "v2",
                after.devices.containsKey("v2")), "v1 and v2 attached again: " + after.calls);
        assertEquals(3, after.count("attach v1"), "v1's failed attempts were retried: " + after.calls);
        assertEquals(1, after.count("attach gone"), "NOT_FOUND is final: " + after.calls);
        assertEquals(0, after.count("mkfs") + after.count("mount") + after.count("bind"),
                "resuming attaches devices only; mounts are the kernel's and still there");
    }

    /**
     * A multi-writer block volume (KubeVirt live migration) is attached shared, so the stage on
     * the migration's target does not fence the source; a restart attaches it shared again. A
     * multi-writer filesystem is refused: ext4/xfs cannot be mounted on two nodes.
     */
    @Test
    void aMultiWriterBlockVolumeIsAttachedSharedAndAMultiWriterFilesystemIsRefused() throws Exception {
        FakeHost host = new FakeHost();
        Path state = dir.resolve("state");
        var node = serve(new NodeService(NodeService.self("n1", "c1", Map.of()), host, host, state, dir.resolve("keys")));
        VolumeCapability rwxBlock = VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(Mode.MULTI_NODE_MULTI_WRITER)).build();
        node.nodeStageVolume(stage("vm", dir.resolve("s-vm"), rwxBlock));
        node.nodeStageVolume(stage("one", dir.resolve("s-one"), mount("ext4", Mode.SINGLE_NODE_WRITER)));
        assertEquals(1, host.count("attach vm shared"), host.calls.toString());
        assertEquals(1, host.count("attach one") - host.count("attach one shared"), host.calls.toString());
        Status fs = assertCode(Status.Code.INVALID_ARGUMENT, () -> node.nodeStageVolume(stage("fs", dir.resolve("s-fs"),
                mount("ext4", Mode.MULTI_NODE_MULTI_WRITER))));
        assertTrue(fs.getDescription().contains("needs block access"), fs.getDescription());

        FakeHost after = new FakeHost();
        new NodeService(NodeService.self("n1", "c1", Map.of()), after, after, state, dir.resolve("keys")).resumeStaged();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (after.devices.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(1, after.count("attach vm shared"), "resumed shared after a restart: " + after.calls);
    }

    /**
     * An encrypted volume is attached with its key; the key is kept (root-only) while the volume is
     * staged, so a restarted service attaches it again, and removed at unstage.
     */
    @Test
    void anEncryptedVolumeIsAttachedWithItsKeyAlsoAfterARestart() throws Exception {
        FakeHost host = new FakeHost();
        Path state = dir.resolve("state");
        Path keys = dir.resolve("keys");
        var node = serve(new NodeService(NodeService.self("n1", "c1", Map.of()), host, host, state, keys));
        Path staging = dir.resolve("s-enc");
        node.nodeStageVolume(stage("enc", staging, mount("ext4", Mode.SINGLE_NODE_WRITER)).toBuilder()
                .putVolumeContext("encrypted", "true").putSecrets("encryptionPassphrase", "pw").build());
        assertEquals(1, host.count("attach enc encrypted"), host.calls.toString());
        Path kept = keys.resolve("enc.key");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(kept)));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)));

        FakeHost after = new FakeHost();
        after.mounts.putAll(host.mounts);
        new NodeService(NodeService.self("n1", "c1", Map.of()), after, after, state, keys).resumeStaged();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (after.devices.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(1, after.count("attach enc encrypted"), "resumed with the kept key: " + after.calls);

        node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId("enc").setStagingTargetPath(staging.toString()).build());
        assertFalse(Files.exists(kept), "the key is gone with the stage");
    }
}
