package io.ballast.csi.controller;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.Topology;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import java.util.Map;

/** Request builders for the conformance tests: valid by default, each test changes what it tests. */
final class CsiRequests {
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;

    private CsiRequests() {
    }

    static VolumeCapability mount(Mode mode, String fsType) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fsType))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    static VolumeCapability mount() {
        return mount(Mode.SINGLE_NODE_WRITER, "ext4");
    }

    static VolumeCapability block(Mode mode) {
        return VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    static CapacityRange range(long required, long limit) {
        return CapacityRange.newBuilder().setRequiredBytes(required).setLimitBytes(limit).build();
    }

    /** A valid CreateVolume: 64 MiB, one replica, single-node ext4, a secret that must never be logged. */
    static CreateVolumeRequest.Builder create(String name) {
        return CreateVolumeRequest.newBuilder().setName(name).setCapacityRange(range(64 * MIB, 0))
                .addVolumeCapabilities(mount()).putParameters("replicas", "1")
                .putSecrets("password", "hunter2");
    }

    static ControllerPublishVolumeRequest.Builder publish(String volumeId, String nodeId) {
        return ControllerPublishVolumeRequest.newBuilder().setVolumeId(volumeId).setNodeId(nodeId)
                .setVolumeCapability(mount()).putSecrets("password", "hunter2");
    }

    static Topology segment(String... keyValues) {
        Topology.Builder b = Topology.newBuilder();
        for (int i = 0; i < keyValues.length; i += 2) {
            b.putSegments(keyValues[i], keyValues[i + 1]);
        }
        return b.build();
    }

    /** Three nodes of 10 GiB: n1 and n2 in zone a, n3 in zone b. */
    static InMemoryClusterBackend threeNodes() {
        return new InMemoryClusterBackend()
                .addNode("n1", Map.of("zone", "a"), 10 * GIB)
                .addNode("n2", Map.of("zone", "a"), 10 * GIB)
                .addNode("n3", Map.of("zone", "b"), 10 * GIB);
    }
}
