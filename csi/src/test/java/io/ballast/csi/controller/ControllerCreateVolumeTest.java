package io.ballast.csi.controller;

import static io.ballast.csi.InProcessCsi.assertCode;
import static io.ballast.csi.controller.CsiRequests.GIB;
import static io.ballast.csi.controller.CsiRequests.MIB;
import static io.ballast.csi.controller.CsiRequests.block;
import static io.ballast.csi.controller.CsiRequests.create;
import static io.ballast.csi.controller.CsiRequests.mount;
import static io.ballast.csi.controller.CsiRequests.range;
import static io.ballast.csi.controller.CsiRequests.segment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.Topology;
import io.ballast.proto.csi.v1.TopologyRequirement;
import io.ballast.proto.csi.v1.Volume;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.grpc.Status.Code;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** CreateVolume, call by call over gRPC: sizes, capabilities, parameters, idempotency, sources, topology. */
class ControllerCreateVolumeTest {
    private final InMemoryClusterBackend backend = CsiRequests.threeNodes();
    private InProcessCsi csi;

    @BeforeEach
    void start() throws Exception {
        csi = new InProcessCsi(backend);
    }

    @AfterEach
    void stop() throws Exception {
        csi.close();
    }

    private Volume create(CreateVolumeRequest.Builder request) {
        return csi.controller.createVolume(request.build()).getVolume();
    }

    private void assertRefused(Code code, CreateVolumeRequest.Builder request) {
        assertCode(code, () -> csi.controller.createVolume(request.build()));
        assertTrue(backend.mutations().isEmpty(), "a refused request reached the backend: " + backend.mutations());
    }

    @Test
    void createsWithRoundedSizeContextAndTopologyOfTheWholeCluster() {
        Volume v = create(CsiRequests.create("pvc-1").setCapacityRange(range(64 * MIB + 1, 0)).putParameters("replicas", "3"));
        assertEquals(65 * MIB, v.getCapacityBytes());
        assertFalse(v.getVolumeId().isEmpty());
        assertEquals(Map.of("replicas", "3"), v.getVolumeContextMap());
        assertFalse(v.hasContentSource());
        Set<Map<String, String>> segments = v.getAccessibleTopologyList().stream().map(Topology::getSegmentsMap).collect(Collectors.toSet());
        // reachable from every node (diskless frontends), so the PV's node affinity never goes stale
        assertEquals(Set.of(Map.of("topology.ballast.csi.io/cluster", "c1")), segments);
        assertEquals(3, backend.volume(v.getVolumeId()).orElseThrow().replicas());
    }

    @Test
    void withoutCapacityRangeOrParametersItIsOneGibibyteWithThreeReplicas() {
        Volume v = create(CsiRequests.create("pvc-1").clearCapacityRange().clearParameters());
        assertEquals(GIB, v.getCapacityBytes());
        assertEquals(3, backend.volume(v.getVolumeId()).orElseThrow().placement().size());
    }

    @Test
    void aVolumeAttributesClassReplicaCountWinsOverTheStorageClasss() {
        Volume v = create(CsiRequests.create("pvc-vac").putParameters("replicas", "3").putMutableParams("replicas", "2"));
        assertEquals(2, backend.volume(v.getVolumeId()).orElseThrow().placement().size());
        assertEquals("2", v.getVolumeContextMap().get("replicas"));
    }

    @Test
    void onlyALimitCapsTheDefaultToWholeMebibytes() {
        assertEquals(100 * MIB, create(CsiRequests.create("a").setCapacityRange(range(0, 100 * MIB + 5))).getCapacityBytes());
        assertEquals(GIB, create(CsiRequests.create("b").setCapacityRange(range(0, 5 * GIB))).getCapacityBytes());
    }

    @Test
    void capacityOutsideWhatCanBeProvidedIsOutOfRange() {
        assertRefused(Code.OUT_OF_RANGE, CsiRequests.create("pvc-1").setCapacityRange(range(10 * MIB, 5 * MIB)));
        // 1 MiB + 1 byte rounds up to 2 MiB, above the limit
        assertRefused(Code.OUT_OF_RANGE, CsiRequests.create("pvc-1").setCapacityRange(range(MIB + 1, MIB + 100)));
        assertRefused(Code.OUT_OF_RANGE, CsiRequests.create("pvc-1").setCapacityRange(range(0, 512 * 1024)));
        assertRefused(Code.OUT_OF_RANGE, CsiRequests.create("pvc-1").setCapacityRange(range(Long.MAX_VALUE, 0)));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").setCapacityRange(range(-1, 0)));
        assertEquals(MIB, create(CsiRequests.create("exact").setCapacityRange(range(MIB, MIB))).getCapacityBytes());
    }

    @Test
    void sameNameAndCompatibleRequestIsTheSameVolume() {
        Volume first = create(CsiRequests.create("pvc-1"));
        Volume again = create(CsiRequests.create("pvc-1"));
        assertEquals(first, again);
        // a smaller requirement that the existing volume satisfies is compatible too
        assertEquals(first.getVolumeId(), create(CsiRequests.create("pvc-1").setCapacityRange(range(MIB, 0))).getVolumeId());
        assertEquals(List.of("createVolume pvc-1"), backend.mutations());
    }

    @Test
    void sameNameWithIncompatibleSizeParametersOrSourceIsAlreadyExists() {
        Volume first = create(CsiRequests.create("pvc-1"));
        var status = assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createVolume(
                CsiRequests.create("pvc-1").setCapacityRange(range(128 * MIB, 0)).build()));
        assertTrue(status.getDescription().contains(first.getVolumeId()), status.getDescription());
        assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createVolume(
                CsiRequests.create("pvc-1").setCapacityRange(range(MIB, 32 * MIB)).build()));
        assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createVolume(
                CsiRequests.create("pvc-1").putParameters("replicas", "2").build()));
        assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createVolume(
                CsiRequests.create("pvc-1").putParameters("fsType", "ext4").build()));
        assertCode(Code.ALREADY_EXISTS, () -> csi.controller.createVolume(CsiRequests.create("pvc-1")
                .setVolumeContentSource(volumeSource(first.getVolumeId())).build()));
        assertEquals(1, backend.volumes().size());
    }

    @Test
    void nameAndCapabilitiesAreRequiredAndChecked() {
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create(""));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("x".repeat(254)));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc\n1"));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").clearVolumeCapabilities());
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").clearVolumeCapabilities()
                .addVolumeCapabilities(mount().toBuilder().clearAccessMode()));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").clearVolumeCapabilities()
                .addVolumeCapabilities(mount().toBuilder().clearMount()));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").clearVolumeCapabilities()
                .addVolumeCapabilities(mount().toBuilder().setAccessMode(VolumeCapability.AccessMode.newBuilder().setModeValue(42))));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER, "btrfs")));
        var status = assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createVolume(CsiRequests.create("pvc-1")
                .addVolumeCapabilities(mount(Mode.MULTI_NODE_MULTI_WRITER, "ext4")).build()));
        assertTrue(status.getDescription().contains("block"), status.getDescription());
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").addVolumeCapabilities(mount(Mode.MULTI_NODE_SINGLE_WRITER, "")));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").putMutableParams("iops", "100"));
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"SINGLE_NODE_WRITER", "SINGLE_NODE_READER_ONLY", "SINGLE_NODE_SINGLE_WRITER",
        "SINGLE_NODE_MULTI_WRITER", "MULTI_NODE_READER_ONLY"})
    void everyNonSharedWriterModeWorksWithMountAndBlock(Mode mode) {
        create(CsiRequests.create("m").clearVolumeCapabilities().addVolumeCapabilities(mount(mode, "xfs")));
        create(CsiRequests.create("b").clearVolumeCapabilities().addVolumeCapabilities(block(mode)));
        assertEquals(2, backend.volumes().size());
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"MULTI_NODE_MULTI_WRITER", "MULTI_NODE_SINGLE_WRITER"})
    void sharedWriterModesWorkWithBlock(Mode mode) {
        create(CsiRequests.create("b").clearVolumeCapabilities().addVolumeCapabilities(block(mode)));
        assertEquals(1, backend.volumes().size());
    }

    @Test
    void parametersAreCheckedAndSidecarKeysIgnored() {
        var status = assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createVolume(
                CsiRequests.create("pvc-1").putParameters("replica", "2").build()));
        assertTrue(status.getDescription().contains("'replica'"), status.getDescription());
        for (String bad : List.of("0", "6", "three", "")) {
            assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").putParameters("replicas", bad));
        }
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").putParameters("fsType", "btrfs"));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").putParameters("fsType", "xfs")); // capability says ext4
        for (String mkfs : List.of("-L `id`", "data", "-m 0 && reboot")) {
            assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").putParameters("mkfsOptions", mkfs));
        }
        assertEquals(Map.of("replicas", "1", "mkfsOptions", "-m 0 -L data"), create(CsiRequests.create("pvc-m")
                .putParameters("mkfsOptions", "  -m 0   -L data ")).getVolumeContextMap());
        Volume v = create(CsiRequests.create("pvc-1").putParameters("replicas", "2").putParameters("fsType", "xfs")
                .clearVolumeCapabilities().addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER, ""))
                .putParameters("csi.storage.k8s.io/pvc/name", "data").putParameters("csi.storage.k8s.io/pvc/namespace", "db"));
        assertEquals(Map.of("replicas", "2", "fsType", "xfs"), v.getVolumeContextMap());
        // the sidecar keys do not make a retry look different
        assertEquals(v.getVolumeId(), create(CsiRequests.create("pvc-1").putParameters("replicas", "2").putParameters("fsType", "xfs")
                .clearVolumeCapabilities().addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER, ""))).getVolumeId());
    }

    @Test
    void restoreFromSnapshotIsAtLeastTheSnapshotAndEchoesTheSource() {
        Volume source = create(CsiRequests.create("src").setCapacityRange(range(100 * MIB, 0)));
        String snap = backend.createSnapshot(source.getVolumeId(), "snap").id();
        VolumeContentSource fromSnap = VolumeContentSource.newBuilder()
                .setSnapshot(VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snap)).build();
        Volume restored = create(CsiRequests.create("restored").clearCapacityRange().setVolumeContentSource(fromSnap));
        assertEquals(100 * MIB, restored.getCapacityBytes());
        assertEquals(fromSnap, restored.getContentSource());
        assertEquals(snap, backend.volume(restored.getVolumeId()).orElseThrow().sourceSnapshotId());
        assertEquals(restored, create(CsiRequests.create("restored").clearCapacityRange().setVolumeContentSource(fromSnap)));
        assertCode(Code.OUT_OF_RANGE, () -> csi.controller.createVolume(CsiRequests.create("small")
                .setCapacityRange(range(50 * MIB, 0)).setVolumeContentSource(fromSnap).build()));
        assertCode(Code.NOT_FOUND, () -> csi.controller.createVolume(CsiRequests.create("lost")
                .setVolumeContentSource(VolumeContentSource.newBuilder()
                        .setSnapshot(VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("snap-nope"))).build()));
        assertTrue(backend.volumeByName("small").isEmpty());
        assertTrue(backend.volumeByName("lost").isEmpty());
    }

    @Test
    void cloneOfAVolumeIsAtLeastItsSizeAndEchoesTheSource() {
        Volume source = create(CsiRequests.create("src").setCapacityRange(range(100 * MIB, 0)));
        Volume clone = create(CsiRequests.create("clone").setCapacityRange(range(200 * MIB, 0))
                .setVolumeContentSource(volumeSource(source.getVolumeId())));
        assertEquals(200 * MIB, clone.getCapacityBytes());
        assertEquals(volumeSource(source.getVolumeId()), clone.getContentSource());
        assertCode(Code.OUT_OF_RANGE, () -> csi.controller.createVolume(CsiRequests.create("small")
                .setVolumeContentSource(volumeSource(source.getVolumeId())).build()));
        assertCode(Code.NOT_FOUND, () -> csi.controller.createVolume(CsiRequests.create("lost")
                .setVolumeContentSource(volumeSource("vol-nope")).build()));
    }

    @Test
    void malformedContentSourceIsInvalid() {
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").setVolumeContentSource(VolumeContentSource.getDefaultInstance()));
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").setVolumeContentSource(volumeSource("")));
    }

    @Test
    void topologyRequirementsSteerPlacementWithThePrefixStripped() {
        Volume inB = create(CsiRequests.create("in-b").setAccessibilityRequirements(TopologyRequirement.newBuilder()
                .addRequisite(segment("topology.ballast.csi.io/zone", "b"))));
        assertEquals(List.of("n3"), backend.volume(inB.getVolumeId()).orElseThrow().placement());
        assertEquals(List.of(segment("topology.ballast.csi.io/cluster", "c1")), inB.getAccessibleTopologyList());
        Volume preferred = create(CsiRequests.create("on-n2").setAccessibilityRequirements(TopologyRequirement.newBuilder()
                .addRequisite(segment("topology.ballast.csi.io/zone", "a"))
                .addPreferred(segment("topology.ballast.csi.io/node", "n2"))));
        assertEquals(List.of("n2"), backend.volume(preferred.getVolumeId()).orElseThrow().placement());
        // The CO's requisite lists the nodes it knows (here only n1, which runs the node plugin):
        // that says where the volume must be reachable, which is everywhere, not where its data
        // must live. Three replicas fit; the preferred (pod's) node gets one.
        // The node's zone is part of its segment and binds nothing either: zone a has two nodes,
        // and the third replica goes to zone b.
        Volume three = create(CsiRequests.create("three").putParameters("replicas", "3")
                .setAccessibilityRequirements(TopologyRequirement.newBuilder()
                        .addRequisite(segment("topology.ballast.csi.io/node", "n1", "topology.ballast.csi.io/zone", "a",
                                "topology.ballast.csi.io/cluster", "c1"))
                        .addPreferred(segment("topology.ballast.csi.io/node", "n1", "topology.ballast.csi.io/zone", "a",
                                "topology.ballast.csi.io/cluster", "c1"))));
        List<String> placement = backend.volume(three.getVolumeId()).orElseThrow().placement();
        assertEquals(3, placement.size());
        assertEquals("n1", placement.get(0));
    }

    @Test
    void foreignTopologyKeysAreInvalid() {
        var status = assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createVolume(CsiRequests.create("pvc-1")
                .setAccessibilityRequirements(TopologyRequirement.newBuilder()
                        .addRequisite(segment("topology.kubernetes.io/zone", "a"))).build()));
        assertTrue(status.getDescription().contains("topology.kubernetes.io/zone"), status.getDescription());
        assertRefused(Code.INVALID_ARGUMENT, CsiRequests.create("pvc-1").setAccessibilityRequirements(TopologyRequirement.newBuilder()
                .addPreferred(segment("topology.ballast.csi.io/", "a"))));
    }

    @Test
    void placementThatCannotBeMadeIsResourceExhausted() {
        assertCode(Code.RESOURCE_EXHAUSTED, () -> csi.controller.createVolume(CsiRequests.create("four").putParameters("replicas", "4").build()));
        assertCode(Code.RESOURCE_EXHAUSTED, () -> csi.controller.createVolume(CsiRequests.create("in-a").putParameters("replicas", "3")
                .setAccessibilityRequirements(TopologyRequirement.newBuilder().addRequisite(segment("topology.ballast.csi.io/zone", "a"))).build()));
        assertCode(Code.RESOURCE_EXHAUSTED, () -> csi.controller.createVolume(CsiRequests.create("huge")
                .setCapacityRange(range(11 * GIB, 0)).build()));
        assertTrue(backend.volumes().isEmpty());
    }

    @Test
    void secretsNeverReachTheLog() {
        create(CsiRequests.create("pvc-1"));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.createVolume(CsiRequests.create("").build()));
        assertEquals(2, csi.log.size(), csi.log.toString());
        assertTrue(csi.log.get(0).startsWith("CreateVolume {name: \"pvc-1\""), csi.log.get(0));
        assertTrue(csi.log.get(0).contains("-> OK"), csi.log.get(0));
        assertTrue(csi.log.get(1).contains("-> INVALID_ARGUMENT"), csi.log.get(1));
        assertTrue(csi.log.stream().noneMatch(l -> l.contains("hunter2") || l.contains("password")), csi.log.toString());
    }

    private static VolumeContentSource volumeSource(String id) {
        return VolumeContentSource.newBuilder().setVolume(VolumeContentSource.VolumeSource.newBuilder().setVolumeId(id)).build();
    }
}
