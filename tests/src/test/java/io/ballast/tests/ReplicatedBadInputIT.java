package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.ListVolumesRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.ResizeVolumeRequest;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input against a 3-replica volume on three real node processes, attached on n1: every
 * malformed NBD case of {@link MalformedNbdCases} through the replicated write path, and malformed
 * or refused admin requests. Each gets its error (NBD errno or the documented gRPC code with a
 * message naming the problem), no process dies, no volume appears, and the volume's bytes stay as
 * they were on every replica.
 */
class ReplicatedBadInputIT extends MalformedNbdCases {
    private static final String VOLUME = "vol";

    private ReplicatedCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        cluster = new ReplicatedCluster(TestDirs.fresh("replicated-bad-input"), 3).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "64M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        cluster.cli(0, "attach", "--name", VOLUME).assertSuccess();
        writePattern();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    Path socket() {
        return cluster.node(0).socket();
    }

    @Override
    String export() {
        return VOLUME;
    }

    @Override
    void assertServing() {
        for (int i = 0; i < cluster.size(); i++) {
            assertTrue(cluster.node(i).isAlive(), ReplicatedCluster.nodeId(i) + " died:\n" + cluster.node(i).logText());
        }
    }

    /** Besides the NBD view through n1: every replica has applied what n1 committed, and only VOLUME exists. */
    @Override
    void assertDataUnchanged() throws Exception {
        super.assertDataUnchanged();
        cluster.awaitConverged(VOLUME, 30);
        for (int i = 0; i < cluster.size(); i++) {
            List<String> names = admin(i).listVolumes(ListVolumesRequest.getDefaultInstance()).getVolumesList()
                    .stream().map(v -> v.getName()).toList();
            assertEquals(List.of(VOLUME), names, "volumes on " + ReplicatedCluster.nodeId(i));
        }
    }

    private NodeAdminGrpc.NodeAdminBlockingStub admin(int i) {
        return cluster.adminStub(i);
    }

    private static void assertStatus(Status.Code code, String messagePart, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), String.valueOf(e.getStatus()));
        String description = String.valueOf(e.getStatus().getDescription());
        assertTrue(description.contains(messagePart), "message should name the problem ('" + messagePart + "'): " + description);
    }

    private CreateVolumeRequest.Builder create(String name, long size) {
        CreateVolumeRequest.Builder b = CreateVolumeRequest.newBuilder().setName(name).setSizeBytes(size);
        for (int i = 0; i < cluster.size(); i++) {
            List<String> args = cluster.replicaArgs();
            String[] kv = args.get(2 * i + 1).split("=", 2);
            b.addPeers(Peer.newBuilder().setNodeId(kv[0]).setRaftAddress(kv[1]));
        }
        return b;
    }

    @Test
    void malformedCreateRequestsAreRefusedAndCreateNothing() throws Exception {
        var n1 = admin(0);
        assertStatus(Status.Code.INVALID_ARGUMENT, "volume name", () -> n1.createVolume(create("", 1 << 20).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "volume name", () -> n1.createVolume(create("../etc", 1 << 20).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "size_bytes", () -> n1.createVolume(create("v2", 0).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "size_bytes", () -> n1.createVolume(create("v2", -4096).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "size_bytes", () -> n1.createVolume(create("v2", 4097).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "raft address", () -> n1.createVolume(create("v2", 1 << 20)
                .addPeers(Peer.newBuilder().setNodeId("n9").setRaftAddress("no-port")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "listed twice", () -> n1.createVolume(create("v2", 1 << 20)
                .addPeers(create("v2", 1 << 20).getPeers(0)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "replicas=2", () -> n1.createVolume(create("v2", 1 << 20)
                .setReplicas(2).build()));
        assertDataUnchanged();
    }

    @Test
    void sameNameWithAnotherSizeIsAlreadyExists() throws Exception {
        assertStatus(Status.Code.ALREADY_EXISTS, "exists", () -> admin(0).createVolume(create(VOLUME, SIZE * 2).build()));
        // The same request again is idempotent: nothing created, nothing changed.
        assertFalse(admin(0).createVolume(create(VOLUME, SIZE).build()).getCreated());
        assertDataUnchanged();
    }

    @Test
    void refusedResizesChangeNothing() throws Exception {
        var n1 = admin(0);
        assertStatus(Status.Code.FAILED_PRECONDITION, "shrink",
                () -> n1.resizeVolume(ResizeVolumeRequest.newBuilder().setName(VOLUME).setSizeBytes(SIZE / 2).build()));
        assertStatus(Status.Code.OUT_OF_RANGE, "size",
                () -> n1.resizeVolume(ResizeVolumeRequest.newBuilder().setName(VOLUME).setSizeBytes(SIZE + 1).build()));
        assertStatus(Status.Code.OUT_OF_RANGE, "size",
                () -> n1.resizeVolume(ResizeVolumeRequest.newBuilder().setName(VOLUME).setSizeBytes(-SIZE).build()));
        assertStatus(Status.Code.FAILED_PRECONDITION, "shrink", // through a replica where it is not attached
                () -> admin(1).resizeVolume(ResizeVolumeRequest.newBuilder().setName(VOLUME).setSizeBytes(SIZE / 2).build()));
        assertEquals(SIZE, n1.getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build()).getVolume().getSizeBytes());
        assertDataUnchanged();
    }

    @Test
    void unknownVolumesAndNodesAreRefused() throws Exception {
        var n1 = admin(0);
        assertStatus(Status.Code.NOT_FOUND, "nope", () -> n1.attachVolume(AttachVolumeRequest.newBuilder().setName("nope").build()));
        assertStatus(Status.Code.NOT_FOUND, "nope", () -> n1.getVolume(GetVolumeRequest.newBuilder().setName("nope").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "not a node id", () -> n1.transferLeadership(
                TransferLeadershipRequest.newBuilder().setName(VOLUME).setTargetNodeId("no such/node").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "volume name",
                () -> n1.detachVolume(DetachVolumeRequest.newBuilder().setName("").build()));
        assertDataUnchanged();
    }
}
