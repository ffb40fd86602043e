package io.ballast.replication.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.CatalogAttachment;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.Publish;
import io.ballast.proto.v1.SetPlacement;
import io.ballast.proto.v1.SetVolumeState;
import io.ballast.proto.v1.Unpublish;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The catalog's transition rules, without Raft: every refusal changes nothing. */
class CatalogTest {
    private final Catalog catalog = new Catalog();

    @BeforeEach
    void nodes() {
        for (String n : List.of("n1", "n2", "n3")) {
            ok(admit(n, false));
            ok(CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId(n)
                    .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(100)).build());
        }
    }

    private static CatalogCommand admit(String node, boolean revoke) {
        return CatalogCommand.newBuilder().setAdmitNode(io.ballast.proto.v1.AdmitNode.newBuilder().setNodeId(node).setRevoke(revoke))
                .build();
    }

    private static CatalogCommand heartbeat(String node) {
        return CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId(node)
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(100)).build();
    }

    @Test
    void onlyAdmittedNodesRegisterAndANodeHoldingAVolumeIsNotRevoked() {
        refused(heartbeat("n9"), "PERMISSION_DENIED");
        assertTrue(catalog.apply(heartbeat("n9")).getMessage().contains("ballast node admit n9"));
        assertFalse(ok(admit("n9", false)).getExisted());
        assertTrue(ok(admit("n9", false)).getExisted(), "the same admission again");
        CatalogReply beat = ok(heartbeat("n9"));
        assertEquals(List.of("n1", "n2", "n3", "n9"), beat.getAdmittedNodesList(), "heartbeat replies name the admitted nodes");
        assertEquals(4, catalog.state().getNodesCount());
        ok(CatalogCommand.newBuilder().setCreateVolume(CatalogVolume.newBuilder().setId("v9").setName("pvc-9")
                .setSizeBytes(1 << 20).setReplicas(1).addPlacement("n9")).build());
        refused(admit("n9", true), "FAILED_PRECONDITION");
        assertTrue(catalog.apply(admit("n9", true)).getMessage().contains("--evacuate"));
        ok(CatalogCommand.newBuilder().setDeleteVolume("v9").build());
        assertFalse(ok(admit("n9", true)).getExisted());
        assertEquals(3, catalog.state().getNodesCount(), "a revoked node's record goes");
        refused(heartbeat("n9"), "PERMISSION_DENIED");
        refused(admit("", false), "INVALID_ARGUMENT");
        var restored = new Catalog();
        restored.restore(catalog.state());
        assertEquals(catalog.state(), restored.state(), "admission is part of the catalog's snapshot");
    }

    private CatalogReply ok(CatalogCommand c) {
        CatalogReply r = catalog.apply(c);
        assertEquals("", r.getErrorCode(), r.getMessage());
        return r;
    }

    private void refused(CatalogCommand c, String code) {
        var before = catalog.state();
        CatalogReply r = catalog.apply(c);
        assertEquals(code, r.getErrorCode(), r.getMessage());
        assertFalse(r.getMessage().isEmpty());
        assertEquals(before, catalog.state(), "a refused command changed the catalog");
    }

    private static CatalogVolume.Builder vol(String id, long size) {
        return CatalogVolume.newBuilder().setId(id).setName("name-" + id).setSizeBytes(size).setReplicas(2)
                .addPlacement("n1").addPlacement("n2");
    }

    private static CatalogCommand create(CatalogVolume.Builder v) {
        return CatalogCommand.newBuilder().setCreateVolume(v).build();
    }

    private void available(String id) {
        ok(CatalogCommand.newBuilder().setSetVolumeState(SetVolumeState.newBuilder().setVolumeId(id)
                .setState(CatalogVolumeState.CATALOG_VOLUME_AVAILABLE)).build());
    }

    private static CatalogCommand publish(String id, String node, boolean exclusive) {
        return CatalogCommand.newBuilder().setPublish(Publish.newBuilder().setVolumeId(id).setAttachment(
                CatalogAttachment.newBuilder().setNodeId(node).setExclusive(exclusive))).build();
    }

    @Test
    void createIsIdempotentByNameAndRefusesOtherParameters() {
        CatalogReply first = ok(create(vol("v1", 4096)));
        assertFalse(first.getExisted());
        assertEquals(CatalogVolumeState.CATALOG_VOLUME_CREATING, first.getVolume().getState());
        assertTrue(ok(create(vol("v1", 4096))).getExisted());
        refused(create(vol("v1", 8192)), "ALREADY_EXISTS");
        refused(create(vol("v1", 4096).setReplicas(1).clearPlacement().addPlacement("n1")), "ALREADY_EXISTS");
        refused(create(vol("v2", 4096).setName("name-v1")), "ALREADY_EXISTS");
        refused(create(vol("v3", 0)), "INVALID_ARGUMENT");
        refused(create(vol("v3", 4096).addPlacement("n3")), "INVALID_ARGUMENT");
        refused(create(vol("v3", 4096).setSourceSnapshotId("nope")), "NOT_FOUND");
        refused(CatalogCommand.getDefaultInstance(), "INVALID_ARGUMENT");
    }

    @Test
    void exclusivePublicationKeepsOtherNodesOut() {
        ok(create(vol("v1", 4096)));
        refused(publish("v1", "n1", true), "FAILED_PRECONDITION"); // still CREATING
        available("v1");
        ok(publish("v1", "n1", true));
        assertTrue(ok(publish("v1", "n1", true)).getExisted());
        refused(publish("v1", "n2", false), "FAILED_PRECONDITION");
        refused(publish("v1", "n1", false), "ALREADY_EXISTS");
        refused(publish("v1", "n9", true), "NOT_FOUND");
        refused(publish("nope", "n1", true), "NOT_FOUND");
        refused(CatalogCommand.newBuilder().setDeleteVolume("v1").build(), "FAILED_PRECONDITION");
        ok(CatalogCommand.newBuilder().setUnpublish(Unpublish.newBuilder().setVolumeId("v1").setNodeId("n1")).build());
        ok(publish("v1", "n2", false));
        ok(publish("v1", "n3", false)); // shared (multi-node) publications coexist
        assertEquals(2, catalog.state().getVolumes(0).getAttachmentsCount());
        ok(CatalogCommand.newBuilder().setUnpublish(Unpublish.newBuilder().setVolumeId("v1")).build());
        assertTrue(ok(CatalogCommand.newBuilder().setDeleteVolume("v1").build()).getExisted());
        assertFalse(ok(CatalogCommand.newBuilder().setDeleteVolume("v1").build()).getExisted());
        assertEquals(List.of("v1"), catalog.state().getDeletedVolumeIdsList()); // nodes that were away delete their copy
    }

    @Test
    void tombstonesOfDeletedVolumesAreBounded() {
        for (int i = 0; i < Catalog.MAX_TOMBSTONES + 5; i++) {
            ok(create(vol("v" + i, 4096)));
            ok(CatalogCommand.newBuilder().setDeleteVolume("v" + i).build());
        }
        var ids = catalog.state().getDeletedVolumeIdsList();
        assertEquals(Catalog.MAX_TOMBSTONES, ids.size());
        assertEquals("v5", ids.get(0));
        Catalog copy = new Catalog();
        copy.restore(catalog.state());
        assertEquals(catalog.state(), copy.state());
    }

    @Test
    void snapshotsPinTheirVolumeAndAreIdempotentByName() {
        ok(create(vol("v1", 4096)));
        ok(create(vol("v2", 4096)));
        CatalogCommand snap = CatalogCommand.newBuilder().setCreateSnapshot(CatalogSnapshot.newBuilder()
                .setId("s1").setName("snap-1").setSourceVolumeId("v1")).build();
        CatalogReply r = ok(snap);
        assertEquals(4096, r.getSnapshot().getSizeBytes());
        assertFalse(r.getSnapshot().getReady());
        assertTrue(ok(snap).getExisted());
        refused(CatalogCommand.newBuilder().setCreateSnapshot(CatalogSnapshot.newBuilder()
                .setId("s2").setName("snap-1").setSourceVolumeId("v2")).build(), "ALREADY_EXISTS");
        refused(CatalogCommand.newBuilder().setCreateSnapshot(CatalogSnapshot.newBuilder()
                .setId("s3").setName("snap-3").setSourceVolumeId("nope")).build(), "NOT_FOUND");
        refused(CatalogCommand.newBuilder().setDeleteVolume("v1").build(), "FAILED_PRECONDITION");
        ok(create(vol("c1", 4096).setSourceSnapshotId("s1")));
        assertTrue(ok(CatalogCommand.newBuilder().setDeleteSnapshot("s1").build()).getExisted());
        ok(CatalogCommand.newBuilder().setDeleteVolume("v1").build());
    }

    @Test
    void placementIsCompareAndSet() {
        ok(create(vol("v1", 4096)));
        ok(CatalogCommand.newBuilder().setSetPlacement(SetPlacement.newBuilder().setVolumeId("v1")
                .addAllExpected(List.of("n1", "n2")).addAllPlacement(List.of("n1", "n3"))).build());
        refused(CatalogCommand.newBuilder().setSetPlacement(SetPlacement.newBuilder().setVolumeId("v1")
                .addAllExpected(List.of("n1", "n2")).addAllPlacement(List.of("n2", "n3"))).build(), "FAILED_PRECONDITION");
        assertEquals(List.of("n1", "n3"), catalog.state().getVolumes(0).getPlacementList());
    }

    @Test
    void lateHeartbeatDoesNotMoveTimeBackwards() {
        ok(CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n1")
                .setAdminAddress("a:1").setRaftAddress("a:2").setHeartbeatMillis(50).setFreeBytes(7)).build());
        CatalogNode n1 = catalog.state().getNodes(0);
        assertEquals(100, n1.getHeartbeatMillis());
        assertEquals(7, n1.getFreeBytes());
        refused(CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n4")).build(), "INVALID_ARGUMENT");
    }

    @Test
    void theReplicaCountChangesOnAnAvailableVolumeWithinItsBounds() {
        ok(create(vol("v", 100)));
        CatalogCommand five = CatalogCommand.newBuilder().setSetReplicas(io.ballast.proto.v1.SetReplicas.newBuilder()
                .setVolumeId("v").setReplicas(5)).build();
        refused(five, "FAILED_PRECONDITION"); // still CREATING
        available("v");
        CatalogReply r = ok(five);
        assertEquals(5, r.getVolume().getReplicas());
        assertEquals(List.of("n1", "n2"), r.getVolume().getPlacementList(), "placement changes as replicas are added");
        assertTrue(ok(five).getExisted());
        refused(CatalogCommand.newBuilder().setSetReplicas(io.ballast.proto.v1.SetReplicas.newBuilder()
                .setVolumeId("v").setReplicas(6)).build(), "INVALID_ARGUMENT");
        refused(CatalogCommand.newBuilder().setSetReplicas(io.ballast.proto.v1.SetReplicas.newBuilder()
                .setVolumeId("v").setReplicas(0)).build(), "INVALID_ARGUMENT");
        refused(CatalogCommand.newBuilder().setSetReplicas(io.ballast.proto.v1.SetReplicas.newBuilder()
                .setVolumeId("nope").setReplicas(2)).build(), "NOT_FOUND");
    }

    @Test
    void aHeartbeatReplyListsTheFullNodes() {
        CatalogReply r = ok(CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n2")
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(200).setDiskFull(true)).build());
        assertEquals(List.of("n2"), r.getFullNodesList());
        r = ok(CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n2")
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(300)).build());
        assertEquals(List.of(), r.getFullNodesList());
    }

    /** A drain is the operator's: heartbeats keep it, every heartbeat reply lists the drained nodes. */
    @Test
    void aDrainOutlivesHeartbeatsUntilUndrained() {
        CatalogCommand beat = CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n2")
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(200)).build();
        refused(drain("n9", io.ballast.proto.v1.NodeDrain.NODE_DRAIN_LEADERS), "NOT_FOUND");
        assertFalse(ok(drain("n2", io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE)).getExisted());
        assertTrue(ok(drain("n2", io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE)).getExisted());
        CatalogReply r = ok(beat.toBuilder().setHeartbeat(beat.getHeartbeat().toBuilder().setHeartbeatMillis(300)).build());
        assertEquals(List.of("n2"), r.getDrainedNodesList());
        assertEquals(io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE, catalog.state().getNodesList().stream()
                .filter(n -> n.getNodeId().equals("n2")).findFirst().orElseThrow().getDrain());
        ok(drain("n2", io.ballast.proto.v1.NodeDrain.NODE_DRAIN_NONE));
        assertEquals(List.of(), ok(beat).getDrainedNodesList());
    }

    /**
     * A Kubernetes cordon drains a node no one drained, and its uncordon lifts only that drain: an
     * operator's drain survives a cordon and uncordon, and an operator may take over a cordon's.
     */
    @Test
    void aCordonNeverOverridesTheOperator() {
        CatalogCommand beat = CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("n2")
                .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setHeartbeatMillis(200)).build();
        ok(beat);
        var leaders = io.ballast.proto.v1.NodeDrain.NODE_DRAIN_LEADERS;
        var none = io.ballast.proto.v1.NodeDrain.NODE_DRAIN_NONE;
        assertTrue(ok(cordon("n2", none)).getExisted(), "an uncordon of an undrained node changes nothing");
        assertFalse(ok(cordon("n2", leaders)).getExisted());
        assertTrue(node("n2").getDrainFromCordon());
        ok(beat.toBuilder().setHeartbeat(beat.getHeartbeat().toBuilder().setHeartbeatMillis(300)).build());
        assertTrue(node("n2").getDrainFromCordon(), "heartbeats keep who drained it");
        assertFalse(ok(cordon("n2", none)).getExisted());
        assertEquals(none, node("n2").getDrain());

        ok(drain("n2", io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE));
        assertTrue(ok(cordon("n2", leaders)).getExisted(), "a cordon never turns an evacuation into a drain");
        assertTrue(ok(cordon("n2", none)).getExisted(), "nor does its uncordon lift the operator's mode");
        assertEquals(io.ballast.proto.v1.NodeDrain.NODE_DRAIN_EVACUATE, node("n2").getDrain());
        assertFalse(node("n2").getDrainFromCordon());

        ok(drain("n2", none));
        ok(cordon("n2", leaders));
        assertFalse(ok(drain("n2", leaders)).getExisted(), "the operator takes the cordon's drain over");
        assertTrue(ok(cordon("n2", none)).getExisted());
        assertEquals(leaders, node("n2").getDrain());
    }

    private CatalogNode node(String id) {
        return catalog.state().getNodesList().stream().filter(n -> n.getNodeId().equals(id)).findFirst().orElseThrow();
    }

    private static CatalogCommand cordon(String node, io.ballast.proto.v1.NodeDrain mode) {
        return CatalogCommand.newBuilder().setSetDrain(io.ballast.proto.v1.SetDrain.newBuilder().setNodeId(node)
                .setDrain(mode).setCordon(true)).build();
    }

    private static CatalogCommand drain(String node, io.ballast.proto.v1.NodeDrain mode) {
        return CatalogCommand.newBuilder().setSetDrain(io.ballast.proto.v1.SetDrain.newBuilder().setNodeId(node)
                .setDrain(mode)).build();
    }
}
