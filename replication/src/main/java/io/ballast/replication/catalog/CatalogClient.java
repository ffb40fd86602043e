package io.ballast.replication.catalog;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogState;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.tls.RaftTls;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.InvalidProtocolBufferException;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;

/**
 * A client of the cluster's catalog group, usable from any process (nodes, the controller, the
 * CLI): commands go through the group's leader and its log; reads are linearizable reads of the
 * whole state on the leader.
 *
 * <p>Threading: thread-safe (one Ratis client). Errors: {@link BallastException} with the code
 * the catalog's reply carries, UNAVAILABLE when no leader answers within the retry budget.
 */
public final class CatalogClient implements AutoCloseable {
    private final RaftClient client;
    /** Whole-state reads sent (each ships all of CatalogState): what a caller should keep to one per request. */
    private final AtomicLong reads = new AtomicLong();

    /**
     * @param members the catalog members, node id -> raft host:port
     * @param retryBudget how long one call keeps retrying while the group has no leader
     */
    public CatalogClient(String clusterId, Map<String, String> members, Duration retryBudget) {
        this(clusterId, members, retryBudget, RaftTls.PLAINTEXT);
    }

    /** As above, speaking to the catalog's members with {@code tls}. */
    public CatalogClient(String clusterId, Map<String, String> members, Duration retryBudget, RaftTls tls) {
        if (members.isEmpty()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the catalog needs at least one member");
        }
        List<RaftPeer> peers = new ArrayList<>();
        members.forEach((id, addr) -> peers.add(RaftPeer.newBuilder().setId(id).setAddress(addr).build()));
        RaftProperties p = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        long sleepMs = 200;
        int retries = (int) Math.max(1, retryBudget.toMillis() / sleepMs);
        this.client = RaftClient.newBuilder()
                .setProperties(p)
                .setParameters(tls.parameters())
                .setRaftGroup(RaftGroup.valueOf(CatalogStateMachine.groupIdOf(clusterId), peers))
                .setClientId(ClientId.randomId())
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(retries,
                        TimeDuration.valueOf(sleepMs, TimeUnit.MILLISECONDS)))
                .build();
    }

    /** Whole-state reads this client has sent. */
    public long reads() {
        return reads.get();
    }

    /** The whole catalog as committed (linearizable: served by the leader). */
    public CatalogState read() {
        reads.incrementAndGet();
        try {
            RaftClientReply r = client.io().sendReadOnly(Message.valueOf(ByteString.copyFrom(
                    new byte[] {CatalogStateMachine.QUERY_STATE})));
            BallastException e = RatisErrors.of(r, "read the catalog");
            if (e != null) {
                throw e;
            }
            return CatalogState.parseFrom(r.getMessage().getContent().toByteArray());
        } catch (InvalidProtocolBufferException e) {
            throw new BallastException(ErrorCode.INTERNAL, "catalog answered a malformed state: " + e.getMessage(), e);
        } catch (IOException e) {
            throw RatisErrors.map(e, "read the catalog");
        }
    }

    /**
     * Appends a command and returns its reply once applied; a refused command throws its error.
     * Commands are idempotent, so a retried one whose first attempt committed answers the same.
     */
    public CatalogReply submit(CatalogCommand command) {
        try {
            RaftClientReply r = client.io().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(command.toByteArray())));
            BallastException e = RatisErrors.of(r, "catalog " + command.getCommandCase().name().toLowerCase());
            if (e != null) {
                throw e;
            }
            CatalogReply reply = CatalogReply.parseFrom(r.getMessage().getContent().toByteArray());
            if (!reply.getErrorCode().isEmpty()) {
                ErrorCode code;
                try {
                    code = ErrorCode.valueOf(reply.getErrorCode());
                } catch (IllegalArgumentException unknown) {
                    code = ErrorCode.INTERNAL;
                }
                throw new BallastException(code, reply.getMessage());
            }
            return reply;
        } catch (InvalidProtocolBufferException e) {
            throw new BallastException(ErrorCode.INTERNAL, "catalog answered a malformed reply: " + e.getMessage(), e);
        } catch (IOException e) {
            throw RatisErrors.map(e, "catalog " + command.getCommandCase().name().toLowerCase());
        }
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (IOException e) {
            // closing a client only releases connections
        }
    }
}
