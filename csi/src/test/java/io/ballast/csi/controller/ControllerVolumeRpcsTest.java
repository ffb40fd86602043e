package io.ballast.csi.controller;

import static io.ballast.csi.InProcessCsi.assertCode;
import static io.ballast.csi.controller.CsiRequests.MIB;
import static io.ballast.csi.controller.CsiRequests.block;
import static io.ballast.csi.controller.CsiRequests.mount;
import static io.ballast.csi.controller.CsiRequests.publish;
import static io.ballast.csi.controller.CsiRequests.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.cluster.ClusterBackend.Attachment;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerGetCapabilitiesRequest;
import io.ballast.proto.csi.v1.ControllerGetVolumeRequest;
import io.ballast.proto.csi.v1.ControllerModifyVolumeRequest;
import io.ballast.proto.csi.v1.ControllerServiceCapability.RPC.Type;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import io.grpc.Status.Code;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** DeleteVolume, publish/unpublish, ValidateVolumeCapabilities, expand, get, capabilities and modify. */
class ControllerVolumeRpcsTest {
    private final InMemoryClusterBackend backend = CsiRequests.threeNodes();
    private InProcessCsi csi;
    private String vol;

    @BeforeEach
    void start() throws Exception {
        csi = new InProcessCsi(backend);
        vol = csi.controller.createVolume(CsiRequests.create("pvc-1").putParameters("replicas", "2").build()).getVolume().getVolumeId();
    }

    @AfterEach
    void stop() throws Exception {
        csi.close();
    }

    private List<String> mutationsAfterCreate() {
        return backend.mutations().subList(1, backend.mutations().size());
    }

    @Test
    void deleteVolumeIsIdempotentAndNeedsAnId() {
        csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build());
        assertTrue(backend.volume(vol).isEmpty());
        csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build());
        csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId("vol-never-existed").build());
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.deleteVolume(DeleteVolumeRequest.getDefaultInstance()));
    }

    @Test
    void deleteOfAPublishedVolumeIsFailedPrecondition() {
        csi.controller.controllerPublishVolume(publish(vol, "n1").build());
        assertCode(Code.FAILED_PRECONDITION, () -> csi.controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(vol).build()));
        assertTrue(backend.volume(vol).isPresent());
    }

    @Test
    void publishRecordsTheAttachmentAndAnswersWithContext() {
        var reply = csi.controller.controllerPublishVolume(publish(vol, "n3").build());
        List<String> placement = backend.volume(vol).orElseThrow().placement();
        assertEquals(Map.of("node", "n3", "readonly", "false", "placement", String.join(",", placement)), reply.getPublishContextMap());
        assertEquals(List.of(new Attachment("n3", false, true)), backend.volume(vol).orElseThrow().attachments());
        // the same publication again is OK and changes nothing
        assertEquals(reply, csi.controller.controllerPublishVolume(publish(vol, "n3").build()));
        assertEquals(1, backend.volume(vol).orElseThrow().attachments().size());
    }

    @Test
    void publishElsewhereInASingleNodeModeIsFailedPrecondition() {
        csi.controller.controllerPublishVolume(publish(vol, "n1").build());
        assertCode(Code.FAILED_PRECONDITION, () -> csi.controller.controllerPublishVolume(publish(vol, "n2").build()));
        assertCode(Code.ALREADY_EXISTS, () -> csi.controller.controllerPublishVolume(publish(vol, "n1").setReadonly(true).build()));
        assertEquals(List.of("n1"), backend.volume(vol).orElseThrow().attachments().stream().map(Attachment::nodeId).toList());
    }

    @Test
    void readerOnlyModesPublishReadOnlyOnSeveralNodes() {
        var roCap = mount(Mode.MULTI_NODE_READER_ONLY, "ext4");
        var r1 = csi.controller.controllerPublishVolume(publish(vol, "n1").setVolumeCapability(roCap).build());
        csi.controller.controllerPublishVolume(publish(vol, "n2").setVolumeCapability(roCap).setReadonly(true).build());
        assertEquals("true", r1.getPublishContextMap().get("readonly"));
        assertEquals(List.of(new Attachment("n1", true, false), new Attachment("n2", true, false)),
                backend.volume(vol).orElseThrow().attachments());
    }

    @Test
    void multiNodeMultiWriterBlockIsSharedReadWrite() {
        var shared = block(Mode.MULTI_NODE_MULTI_WRITER);
        csi.controller.controllerPublishVolume(publish(vol, "n1").setVolumeCapability(shared).build());
        csi.controller.controllerPublishVolume(publish(vol, "n2").setVolumeCapability(shared).build());
        assertEquals(2, backend.volume(vol).orElseThrow().attachments().size());
    }

    @Test
    void publishOfUnknownVolumeOrNodeIsNotFound() {
        assertCode(Code.NOT_FOUND, () -> csi.controller.controllerPublishVolume(publish("vol-nope", "n1").build()));
        var status = assertCode(Code.NOT_FOUND, () -> csi.controller.controllerPublishVolume(publish(vol, "n9").build()));
        assertTrue(status.getDescription().contains("n9"), status.getDescription());
    }

    @Test
    void publishRequestsAreValidatedBeforeTheBackend() {
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerPublishVolume(publish("", "n1").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerPublishVolume(publish(vol, "").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerPublishVolume(publish(vol, "n1").clearVolumeCapability().build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerPublishVolume(publish(vol, "n1")
                .setVolumeCapability(mount(Mode.MULTI_NODE_MULTI_WRITER, "ext4")).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerPublishVolume(publish(vol, "n1")
                .setVolumeCapability(mount().toBuilder().clearAccessMode()).build()));
        assertEquals(List.of(), mutationsAfterCreate());
    }

    @Test
    void unpublishIsIdempotentAndAnEmptyNodeMeansEveryNode() {
        var ro = mount(Mode.MULTI_NODE_READER_ONLY, "");
        csi.controller.controllerPublishVolume(publish(vol, "n1").setVolumeCapability(ro).build());
        csi.controller.controllerPublishVolume(publish(vol, "n2").setVolumeCapability(ro).build());
        var unpublish = ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(vol).setNodeId("n1").build();
        csi.controller.controllerUnpublishVolume(unpublish);
        csi.controller.controllerUnpublishVolume(unpublish);
        assertEquals(List.of("n2"), backend.volume(vol).orElseThrow().attachments().stream().map(Attachment::nodeId).toList());
        csi.controller.controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId(vol).build());
        assertTrue(backend.volume(vol).orElseThrow().attachments().isEmpty());
        csi.controller.controllerUnpublishVolume(ControllerUnpublishVolumeRequest.newBuilder().setVolumeId("vol-nope").setNodeId("n1").build());
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerUnpublishVolume(ControllerUnpublishVolumeRequest.getDefaultInstance()));
        // now a single-node publication elsewhere works
        csi.controller.controllerPublishVolume(publish(vol, "n3").build());
    }

    @Test
    void validateConfirmsOnlyWhatIsSupported() {
        var ok = csi.controller.validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(vol)
                .addVolumeCapabilities(mount()).addVolumeCapabilities(block(Mode.MULTI_NODE_MULTI_WRITER))
                .putVolumeContext("replicas", "2").putParameters("replicas", "2").build());
        assertTrue(ok.hasConfirmed(), ok.getMessage());
        assertEquals(List.of(mount(), block(Mode.MULTI_NODE_MULTI_WRITER)), ok.getConfirmed().getVolumeCapabilitiesList());
        assertEquals(Map.of("replicas", "2"), ok.getConfirmed().getParametersMap());

        for (var request : List.of(
                validate().addVolumeCapabilities(mount(Mode.MULTI_NODE_MULTI_WRITER, "ext4")),
                validate().addVolumeCapabilities(mount(Mode.SINGLE_NODE_WRITER, "btrfs")),
                validate().addVolumeCapabilities(mount()).putParameters("replicas", "3"),
                validate().addVolumeCapabilities(mount()).putParameters("colour", "blue"),
                validate().addVolumeCapabilities(mount()).putVolumeContext("replicas", "5"),
                validate().addVolumeCapabilities(mount()).putVolumeContext("mystery", "x"))) {
            var no = csi.controller.validateVolumeCapabilities(request.build());
            assertFalse(no.hasConfirmed(), request.toString());
            assertFalse(no.getMessage().isEmpty(), request.toString());
        }
    }

    @Test
    void validateOfUnknownVolumeOrMalformedRequestFails() {
        assertCode(Code.NOT_FOUND, () -> csi.controller.validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .setVolumeId("vol-nope").addVolumeCapabilities(mount()).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.validateVolumeCapabilities(validate().build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .addVolumeCapabilities(mount()).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.validateVolumeCapabilities(validate()
                .addVolumeCapabilities(mount().toBuilder().clearMount()).build()));
    }

    private ValidateVolumeCapabilitiesRequest.Builder validate() {
        return ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(vol);
    }

    @Test
    void expandGrowsToWholeMebibytesAndSaysWhetherTheNodeMustFollow() {
        var mountReply = csi.controller.controllerExpandVolume(expand(vol, range(100 * MIB + 1, 0)).setVolumeCapability(mount()).build());
        assertEquals(101 * MIB, mountReply.getCapacityBytes());
        assertTrue(mountReply.getNodeExpansionRequired());
        assertEquals(101 * MIB, backend.volume(vol).orElseThrow().sizeBytes());
        var blockReply = csi.controller.controllerExpandVolume(expand(vol, range(200 * MIB, 0))
                .setVolumeCapability(block(Mode.SINGLE_NODE_WRITER)).build());
        assertEquals(200 * MIB, blockReply.getCapacityBytes());
        assertFalse(blockReply.getNodeExpansionRequired());
        // smaller than the volume: it never shrinks, and says how large it is
        var smaller = csi.controller.controllerExpandVolume(expand(vol, range(10 * MIB, 0)).build());
        assertEquals(200 * MIB, smaller.getCapacityBytes());
        assertEquals(List.of("expandVolume " + vol, "expandVolume " + vol), mutationsAfterCreate());
    }

    @Test
    void expandOutsideTheRangeOrOfNothingFails() {
        assertCode(Code.NOT_FOUND, () -> csi.controller.controllerExpandVolume(expand("vol-nope", range(100 * MIB, 0)).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerExpandVolume(expand("", range(100 * MIB, 0)).build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerExpandVolume(expand(vol, range(100 * MIB, 0))
                .clearCapacityRange().build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerExpandVolume(expand(vol, range(0, 100 * MIB)).build()));
        assertCode(Code.OUT_OF_RANGE, () -> csi.controller.controllerExpandVolume(expand(vol, range(100 * MIB, 50 * MIB)).build()));
        // the volume is 64 MiB already: a limit below it cannot be met without shrinking
        assertCode(Code.OUT_OF_RANGE, () -> csi.controller.controllerExpandVolume(expand(vol, range(MIB, 32 * MIB)).build()));
        assertCode(Code.RESOURCE_EXHAUSTED, () -> csi.controller.controllerExpandVolume(expand(vol, range(50L << 30, 0)).build()));
        assertEquals(64 * MIB, backend.volume(vol).orElseThrow().sizeBytes());
    }

    private static ControllerExpandVolumeRequest.Builder expand(String id, io.ballast.proto.csi.v1.CapacityRange range) {
        return ControllerExpandVolumeRequest.newBuilder().setVolumeId(id).setCapacityRange(range).putSecrets("k", "v");
    }

    @Test
    void getVolumeReportsPublicationsAndCondition() {
        csi.controller.controllerPublishVolume(publish(vol, "n2").build());
        var got = csi.controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId(vol).build());
        assertEquals(vol, got.getVolume().getVolumeId());
        assertEquals(64 * MIB, got.getVolume().getCapacityBytes());
        assertEquals(1, got.getVolume().getAccessibleTopologyCount()); // the cluster's segment
        assertEquals(List.of("n2"), got.getStatus().getPublishedNodeIdsList());
        assertFalse(got.getStatus().getVolumeCondition().getAbnormal());
        backend.setCondition(vol, true, "replica on n1 is missing; rebuilding");
        var degraded = csi.controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId(vol).build());
        assertTrue(degraded.getStatus().getVolumeCondition().getAbnormal());
        assertEquals("replica on n1 is missing; rebuilding", degraded.getStatus().getVolumeCondition().getMessage());
        assertCode(Code.NOT_FOUND, () -> csi.controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId("vol-nope").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerGetVolume(ControllerGetVolumeRequest.getDefaultInstance()));
    }

    @Test
    void capabilitiesAreTheAdvertisedSetWithModify() {
        Set<Type> types = csi.controller.controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance())
                .getCapabilitiesList().stream().map(c -> c.getRpc().getType()).collect(Collectors.toSet());
        assertEquals(Set.of(Type.CREATE_DELETE_VOLUME, Type.PUBLISH_UNPUBLISH_VOLUME, Type.LIST_VOLUMES, Type.GET_CAPACITY,
                Type.CREATE_DELETE_SNAPSHOT, Type.LIST_SNAPSHOTS, Type.CLONE_VOLUME, Type.PUBLISH_READONLY, Type.EXPAND_VOLUME,
                Type.LIST_VOLUMES_PUBLISHED_NODES, Type.VOLUME_CONDITION, Type.GET_VOLUME, Type.SINGLE_NODE_MULTI_WRITER,
                Type.MODIFY_VOLUME), types);
    }

    private static ControllerModifyVolumeRequest.Builder modify(String id, String replicas) {
        return ControllerModifyVolumeRequest.newBuilder().setVolumeId(id).putMutableParameters("replicas", replicas);
    }

    @Test
    void modifyChangesTheReplicaCountIdempotentlyAndNeverDropsAnAttachedNode() {
        csi.controller.controllerModifyVolume(modify(vol, "3").build());
        assertEquals(3, backend.volume(vol).orElseThrow().placement().size());
        csi.controller.controllerModifyVolume(modify(vol, "3").build()); // the same again: OK, nothing moves
        assertEquals(3, backend.volume(vol).orElseThrow().placement().size());
        String last = backend.volume(vol).orElseThrow().placement().get(2);
        csi.controller.controllerPublishVolume(publish(vol, last).build());
        csi.controller.controllerModifyVolume(modify(vol, "1").build());
        assertEquals(List.of(last), backend.volume(vol).orElseThrow().placement(), "the attached node's replica stays");
    }

    @Test
    void modifyRefusesEveryBadInputNamingIt() {
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerModifyVolume(modify("", "3").build()));
        assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder()
                .setVolumeId(vol).build()));
        for (String bad : List.of("0", "6", "three", "")) {
            var e = assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerModifyVolume(modify(vol, bad).build()));
            assertTrue(e.getDescription().contains("replicas"), e.getDescription());
        }
        var unknown = assertCode(Code.INVALID_ARGUMENT, () -> csi.controller.controllerModifyVolume(modify(vol, "3")
                .putMutableParameters("fsType", "xfs").build()));
        assertTrue(unknown.getDescription().contains("'fsType' cannot be changed"), unknown.getDescription());
        assertCode(Code.NOT_FOUND, () -> csi.controller.controllerModifyVolume(modify("vol-never-existed", "3").build()));
        // three nodes: four replicas cannot be placed, and nothing is recorded
        assertCode(Code.RESOURCE_EXHAUSTED, () -> csi.controller.controllerModifyVolume(modify(vol, "4").build()));
        assertEquals(2, backend.volume(vol).orElseThrow().replicas());
    }

    @Test
    void aModifyStillUnderWayAnswersAbortedWithItsProgressThenOkOnceDone() {
        backend.replicasSettleAtOnce = false;
        csi.controllerService.modifyWait(java.time.Duration.ofMillis(300));
        var e = assertCode(Code.ABORTED, () -> csi.controller.controllerModifyVolume(modify(vol, "3").build()));
        assertTrue(e.getDescription().contains("2 of 3 replicas placed"), e.getDescription());
        backend.settleReplicas(vol);
        csi.controller.controllerModifyVolume(modify(vol, "3").build());
        assertEquals(3, backend.volume(vol).orElseThrow().placement().size());
    }
}
