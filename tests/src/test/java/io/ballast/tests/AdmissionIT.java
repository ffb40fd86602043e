package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.AdmitNodeRequest;
import io.ballast.proto.v1.GetClusterStateRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.ballast.tls.GrpcTls;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 18's admission, with real processes and mutual TLS: four nodes with valid certificates of
 * the cluster, the catalog on the first three (admitted by its leader). Until an operator admits
 * n4, n4 does not register (so nothing is placed on it), n1's admin API refuses n4's certificate,
 * and a volume group refuses Raft requests from it: a high-term append-entries in its own name,
 * which Ratis alone would take as a new leader's, is refused and the group keeps its leader. An
 * admitted node's certificate cannot admit (operators only); the CLI's can, after which n4
 * registers and holds a replica. A catalog member is not revoked; n4 is, and it is refused again.
 */
class AdmissionIT {
    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void onlyAdmittedNodesJoinAndOnlyOperatorsAdmit() throws Exception {
        ExternalTool.require("qemu-io", "qemu-utils");
        Path dir = TestDirs.fresh("admission");
        Path certs = dir.resolve("certs");
        ClusterCa ca = ClusterCa.create(certs.resolve("ca"), ReplicatedCluster.CLUSTER_ID, Duration.ofDays(1));
        cluster = new ReplicatedCluster(dir, 4, 3);
        for (int i = 0; i < 4; i++) {
            String id = ReplicatedCluster.nodeId(i);
            ca.issue(id, List.of("127.0.0.1"), List.of(), Duration.ofDays(1), certs.resolve(id));
            cluster.node(i).args("--tls-dir", certs.resolve(id).toString());
        }
        Path cli = ca.issue("cli", List.of(), List.of(), Duration.ofDays(1), certs.resolve("cli")).dir();
        cluster.clientTls(cli);
        for (int i = 0; i < 4; i++) {
            cluster.node(i).start(); // not cluster.start(): that admits n4 as an operator would
        }
        Await.await(() -> registered().size() == 3, 60, "the catalog's three members registered");
        Thread.sleep(3000); // n4 heartbeats every 2 s: give it a chance to get in
        assertEquals(List.of("n1", "n2", "n3"), registered(), "n4 registered without being admitted");
        assertTrue(cluster.node(3).logText().contains("ballast node admit n4"),
                "n4's log says how it gets in:\n" + cluster.node(3).logText());

        // A volume on the members; n4's certificate is refused by the admin API and by the group.
        List<String> create = new ArrayList<>(List.of("volume", "create", "--admin", cluster.admin(0), "--name", "v",
                "--size", "16M"));
        create.addAll(cluster.replicaArgs(0, 1, 2));
        BallastNodeProcess.cliWith(cli, create.toArray(String[]::new)).assertSuccess();
        StatusRuntimeException admin = assertThrows(StatusRuntimeException.class, () -> adminAs(certs.resolve("n4"), 0)
                .getClusterState(GetClusterStateRequest.getDefaultInstance()));
        assertEquals(Status.Code.PERMISSION_DENIED, admin.getStatus().getCode(), admin.toString());
        Await.await(() -> leaderOf("v") >= 0, 30, "v has a leader");
        int leader = leaderOf("v");
        int follower = (leader + 1) % 3;
        Object reply = appendAs(certs.resolve("n4"), follower, "v", 1_000_000);
        assertTrue(reply instanceof org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException s
                && s.getStatus().getCode() == org.apache.ratis.thirdparty.io.grpc.Status.Code.PERMISSION_DENIED,
                "n4's append-entries with a high term: " + reply);
        Thread.sleep(1000);
        assertEquals(leader, leaderOf("v"), "the group kept its leader");

        // Admission takes an operator: an admitted node's certificate is refused, the CLI's admits.
        StatusRuntimeException byNode = assertThrows(StatusRuntimeException.class, () -> adminAs(certs.resolve("n2"), 0)
                .admitNode(AdmitNodeRequest.newBuilder().setNodeId("n4").build()));
        assertEquals(Status.Code.PERMISSION_DENIED, byNode.getStatus().getCode(), byNode.toString());
        assertTrue(byNode.getStatus().getDescription().contains("operator"), byNode.toString());
        ExternalTool.Result admitted = BallastNodeProcess.cliWith(cli, "node", "admit", "n4", "--cluster", cluster.admin(1));
        assertTrue(admitted.assertSuccess().stdout().contains("node n4: admitted"), admitted.describe());
        Await.await(() -> registered().size() == 4, 30, "n4 registered once admitted");

        // n4 now holds a replica of a new volume and serves it.
        List<String> onN4 = new ArrayList<>(List.of("volume", "create", "--admin", cluster.admin(3), "--name", "w",
                "--size", "16M"));
        onN4.addAll(cluster.replicaArgs(1, 2, 3));
        BallastNodeProcess.cliWith(cli, onN4.toArray(String[]::new)).assertSuccess();
        String uri = BallastNodeProcess.cliWith(cli, "volume", "attach", "--admin", cluster.admin(3), "--name", "w").assertSuccess().stdout().strip();
        ExternalTool.run(120, "qemu-io", "-f", "raw", uri, "-c", "write -P 0x4e 0 1M", "-c", "read -P 0x4e 0 1M").assertSuccess();

        // Revocation: refused for a catalog member (its leader would admit it again); n4 is revoked, and
        // refused again once the nodes learnt of it. (Refused while the catalog places a volume on a
        // node: CatalogTest.) The group of w keeps n4, a member of its configuration.
        ExternalTool.Result member = BallastNodeProcess.cliWith(cli, "node", "revoke", "n1", "--cluster", cluster.admin(1));
        assertNotEquals(0, member.exitCode(), member.describe());
        assertTrue(member.stderr().contains("hosts the catalog"), member.describe());
        ExternalTool.Result revoked = BallastNodeProcess.cliWith(cli, "node", "revoke", "n4", "--cluster", cluster.admin(1));
        assertTrue(revoked.assertSuccess().stdout().contains("node n4: revoked"), revoked.describe());
        Await.await(() -> !registered().contains("n4"), 30, "n4's record is gone");
        Await.await(() -> {
            try {
                adminAs(certs.resolve("n4"), 1).getClusterState(GetClusterStateRequest.getDefaultInstance());
                return false;
            } catch (StatusRuntimeException e) {
                return e.getStatus().getCode() == Status.Code.PERMISSION_DENIED;
            }
        }, 30, "n2 refuses n4's certificate again once it learnt of the revocation");
        Thread.sleep(3000);
        assertFalse(registered().contains("n4"), "a revoked node registered again");
    }

    /** The node ids registered in the catalog, sorted. */
    private List<String> registered() {
        return cluster.catalogState().getNodesList().stream().map(n -> n.getNodeId()).sorted().toList();
    }

    /** The index of the node whose replica of {@code volume} says it leads, or -1. */
    private int leaderOf(String volume) {
        for (int i = 0; i < 3; i++) {
            if (cluster.replica(volume, i).getRole().equals("LEADER")) {
                return i;
            }
        }
        return -1;
    }

    /** Node {@code i}'s admin API, called with the certificate in {@code tls}. */
    private NodeAdminGrpc.NodeAdminBlockingStub adminAs(Path tls, int i) {
        ManagedChannel ch = GrpcTls.channel(cluster.admin(i), TlsMaterial.of(TlsDir.of(tls), null));
        channels.add(ch);
        return NodeAdminGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(ManagedChannel::shutdownNow);
    }

    /**
     * An append-entries heartbeat in the name of {@code tls}'s holder, with {@code term}, to node
     * {@code i}'s replica of {@code volume}: what a node outside the group would send to take its
     * leadership. The reply, or the error it got.
     */
    private Object appendAs(Path tls, int i, String volume, long term) throws Exception {
        TlsMaterial m = TlsMaterial.of(TlsDir.of(tls), null);
        String holder = tls.getFileName().toString();
        var ch = NettyChannelBuilder.forTarget(cluster.raftAddress(i)).sslContext(GrpcSslContexts.forClient()
                .keyManager(m.keyManager()).trustManager(m.trustManager()).build()).build();
        try {
            CompletableFuture<Object> reply = new CompletableFuture<>();
            StreamObserver<RaftProtos.AppendEntriesRequestProto> out = RaftServerProtocolServiceGrpc.newStub(ch)
                    .appendEntries(new StreamObserver<>() {
                        @Override
                        public void onNext(RaftProtos.AppendEntriesReplyProto r) {
                            reply.complete(r);
                        }

                        @Override
                        public void onError(Throwable t) {
                            reply.complete(t);
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
            out.onNext(RaftProtos.AppendEntriesRequestProto.newBuilder().setLeaderTerm(term)
                    .setServerRequest(RaftProtos.RaftRpcRequestProto.newBuilder().setRequestorId(ByteString.copyFromUtf8(holder))
                            .setReplyId(ByteString.copyFromUtf8(ReplicatedCluster.nodeId(i)))
                            .setRaftGroupId(RaftProtos.RaftGroupIdProto.newBuilder()
                                    .setId(VolumeStateMachine.groupIdOf(volume).toByteString())).setCallId(1))
                    .setLeaderCommit(0).build());
            return reply.get(20, TimeUnit.SECONDS);
        } finally {
            ch.shutdownNow();
        }
    }

}
