package io.ballast.replication.rebuild;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.ratis.RatisErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;

/**
 * A read-only question to one named peer of a replica's group (a repair's block, a snapshot copy's
 * chunk), answered from that peer's own state machine, not through the leader.
 */
public final class PeerQuery {
    private PeerQuery() {}

    /**
     * A client for such questions. Not the node's usual client: that one retries a failed call for
     * seconds (right for writes during a leader change), but a peer that is down or slow should send
     * the asker to the next peer at once. (A peer's refusal, CORRUPTION or a copy it does not hold, is
     * the reply's exception and never retried: {@link RatisErrors#queryRefusal}. Before that, each
     * refusal was retried too: 5.5 s per bad peer with the usual client.)
     */
    public static RaftClient newClient(LocalReplica replica) {
        RaftProperties properties = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        return RaftClient.newBuilder()
                .setProperties(properties)
                .setParameters(replica.transport())
                .setRaftGroup(replica.division().getGroup())
                .setClientId(ClientId.randomId())
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(1,
                        TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                .build();
    }

    /** The replica's peers (itself left out), its group's leader first: it has applied the most. */
    public static List<RaftPeerId> peersLeaderFirst(LocalReplica replica) {
        RaftServer.Division d = replica.division();
        RaftPeerId self = d.getId();
        RaftPeerId leader = d.getInfo().getLeaderId();
        List<RaftPeerId> peers = new ArrayList<>();
        if (leader != null && !leader.equals(self)) {
            peers.add(leader);
        }
        for (RaftPeer p : d.getGroup().getPeers()) {
            if (!p.getId().equals(self) && !p.getId().equals(leader)) {
                peers.add(p.getId());
            }
        }
        return peers;
    }

    /** {@code peer}'s answer to {@code request}; its refusal as the {@link BallastException} it carries. */
    public static ByteBuffer ask(RaftClient client, RaftPeerId peer, ByteBuffer request, String what) {
        try {
            RaftClientReply reply = client.io().sendStaleRead(
                    Message.valueOf(UnsafeByteOperations.unsafeWrap(request)), 0, peer);
            BallastException e = RatisErrors.of(reply, what + " to " + peer);
            if (e != null) {
                throw e;
            }
            return reply.getMessage().getContent().asReadOnlyByteBuffer();
        } catch (IOException e) {
            throw RatisErrors.map(e, what + " to " + peer);
        }
    }
}
