package io.ballast.csi.controller;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ballast.csi.GrpcErrors;
import io.ballast.engine.error.BallastException;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.Topology;
import io.ballast.proto.csi.v1.TopologyRequirement;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.grpc.Status;

/**
 * Coverage-guided fuzzing of the CSI request validation a CreateVolume goes through ({@link
 * CreateVolumeArgs#parse}: name, capabilities, parameters, capacity, content source, topology)
 * and of the list page tokens a CO hands back. The request is built field by field from the
 * fuzzer's bytes (names, sizes, enums, map keys both known and arbitrary), so the fuzzer spends its
 * time in our checks rather than in protobuf parsing. For any request the answer is a parsed
 * request or an error the spec allows for bad input, never another exception. Regression mode in
 * plain {@code ./mvnw verify}, fuzzing with {@code JAZZER_FUZZ=1} (csi/pom.xml).
 */
class CreateVolumeRequestFuzzTest {
    private static final String[] KEYS = {VolumeParameters.REPLICAS, VolumeParameters.FS_TYPE, "mkfsOptions",
        VolumeParameters.SIDECAR_PREFIX + "pvc/name", "topology.ballast.csi.io/zone", "topology.ballast.csi.io/node"};

    private static String key(FuzzedDataProvider data) {
        return data.consumeBoolean() ? data.pickValue(KEYS) : data.consumeString(40);
    }

    @FuzzTest(maxDuration = "10s")
    void anyCreateVolumeRequestIsParsedOrRefusedAsBadInput(FuzzedDataProvider data) {
        CreateVolumeRequest.Builder r = CreateVolumeRequest.newBuilder().setName(data.consumeString(300));
        if (data.consumeBoolean()) {
            r.setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(data.consumeLong()).setLimitBytes(data.consumeLong()));
        }
        for (int i = data.consumeInt(0, 3); i > 0; i--) {
            VolumeCapability.Builder cap = VolumeCapability.newBuilder().setAccessMode(
                    VolumeCapability.AccessMode.newBuilder().setModeValue(data.consumeInt(-1, 8)));
            switch (data.consumeInt(0, 2)) {
                case 0 -> cap.setBlock(VolumeCapability.BlockVolume.getDefaultInstance());
                case 1 -> cap.setMount(VolumeCapability.MountVolume.newBuilder().setFsType(data.consumeString(8))
                        .addMountFlags(data.consumeString(20)).setVolumeMountGroup(data.consumeString(8)));
                default -> { } // no access type at all
            }
            r.addVolumeCapabilities(cap);
        }
        for (int i = data.consumeInt(0, 4); i > 0; i--) {
            r.putParameters(key(data), data.consumeString(40));
        }
        if (data.consumeBoolean()) {
            r.putMutableParams(key(data), data.consumeString(10));
        }
        switch (data.consumeInt(0, 3)) {
            case 1 -> r.setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                    VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(data.consumeString(80))));
            case 2 -> r.setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
                    VolumeContentSource.VolumeSource.newBuilder().setVolumeId(data.consumeString(80))));
            case 3 -> r.setVolumeContentSource(VolumeContentSource.getDefaultInstance());
            default -> { }
        }
        TopologyRequirement.Builder topology = TopologyRequirement.newBuilder();
        for (int i = data.consumeInt(0, 3); i > 0; i--) {
            Topology.Builder t = Topology.newBuilder().putSegments(key(data), data.consumeString(30));
            if (data.consumeBoolean()) {
                topology.addRequisite(t);
            } else {
                topology.addPreferred(t);
            }
        }
        r.setAccessibilityRequirements(topology);
        try {
            assertNotNull(CreateVolumeArgs.parse(r.build()));
        } catch (BallastException e) {
            Status.Code grpc = GrpcErrors.toStatus(e).getStatus().getCode();
            assertTrue(grpc == Status.Code.INVALID_ARGUMENT || grpc == Status.Code.OUT_OF_RANGE,
                    "bad input answered " + grpc + ": " + e.getMessage());
        }
        String token = data.consumeRemainingAsString();
        try {
            PageToken.decode("volumes", token);
        } catch (RuntimeException e) {
            Status.Code grpc = GrpcErrors.toStatus(e).getStatus().getCode();
            assertTrue(grpc == Status.Code.ABORTED || grpc == Status.Code.INVALID_ARGUMENT, "a bad starting_token answered " + e);
        }
    }
}
