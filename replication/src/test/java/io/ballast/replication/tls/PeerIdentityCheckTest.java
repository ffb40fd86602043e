package io.ballast.replication.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.replication.TestCluster;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.TestBytes;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's id is bound to its certificate (issue 18, part 3): three in-process nodes with mutual
 * TLS replicate as usual, and a holder of n2's valid certificate that sends a Raft request in n0's
 * name is refused (PERMISSION_DENIED) while the same request in its own name is answered.
 */
class PeerIdentityCheckTest {
    private static final String CLUSTER = "test-cluster";

    @TempDir
    Path dir;
    @AutoClose
    private TestCluster cluster;

    @Test
    void aNodeSpeaksRaftInItsOwnNameOnly() throws Exception {
        ClusterCa ca = ClusterCa.create(dir.resolve("ca"), CLUSTER, Duration.ofDays(1));
        TlsMaterial[] certs = new TlsMaterial[3];
        for (int i = 0; i < 3; i++) {
            certs[i] = TlsMaterial.of(ca.issue("n" + i, List.of("127.0.0.1"), List.of(), Duration.ofDays(1),
                    dir.resolve("n" + i + "-tls")), CLUSTER);
        }
        cluster = new TestCluster(dir.resolve("nodes"), 3, 100_000, c -> c, i -> RaftTls.of(certs[i]));
        ReplicatedBlockVolume v = cluster.createVolume("v", 1 << 20);
        Await.result(v.write(0, ByteBuffer.wrap(TestBytes.block(1)), true));
        cluster.assertReplicasIdentical("v"); // votes, appends and reads between the rightful nodes pass the check

        int target = (cluster.leader("v") + 1) % 3;
        int holder = (target + 1) % 3; // n<holder>'s certificate, used by a process other than n<holder>
        String address = cluster.peers().get("n" + target);
        ManagedChannel ch = NettyChannelBuilder.forTarget(address).sslContext(GrpcSslContexts.forClient()
                .keyManager(certs[holder].keyManager()).trustManager(certs[holder].trustManager()).build()).build();
        try {
            var stub = RaftServerProtocolServiceGrpc.newBlockingStub(ch);
            String someoneElse = "n" + (holder + 2) % 3; // neither the holder nor the target
            StatusRuntimeException posing = assertThrows(StatusRuntimeException.class,
                    () -> stub.requestVote(preVote(someoneElse, "n" + target)));
            assertEquals(Status.Code.PERMISSION_DENIED, posing.getStatus().getCode(), posing.toString());
            assertEquals(true, posing.getStatus().getDescription().contains("certificate of n" + holder), posing.toString());
            // In its own name the same request reaches Raft and is answered (a pre-vote changes nothing).
            RaftProtos.RequestVoteReplyProto own = stub.requestVote(preVote("n" + holder, "n" + target));
            assertEquals("n" + target, own.getServerReply().getReplyId().toStringUtf8());
        } finally {
            ch.shutdownNow();
        }
        Await.result(v.write(4096, ByteBuffer.wrap(TestBytes.block(2)), true));
        cluster.assertReplicasIdentical("v");
        assertArrayEquals(TestBytes.block(2), java.util.Arrays.copyOfRange(cluster.content(0, "v"), 4096, 8192));
        v.close();
    }

    private static RaftProtos.RequestVoteRequestProto preVote(String from, String to) {
        return RaftProtos.RequestVoteRequestProto.newBuilder().setPreVote(true).setCandidateTerm(1)
                .setServerRequest(RaftProtos.RaftRpcRequestProto.newBuilder()
                        .setRequestorId(ByteString.copyFromUtf8(from)).setReplyId(ByteString.copyFromUtf8(to))
                        .setRaftGroupId(RaftProtos.RaftGroupIdProto.newBuilder()
                                .setId(VolumeStateMachine.groupIdOf("v").toByteString())).setCallId(1))
                .setCandidateLastEntry(RaftProtos.TermIndexProto.newBuilder().setTerm(0).setIndex(0)).build();
    }
}
