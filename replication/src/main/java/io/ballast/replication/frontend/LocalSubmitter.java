package io.ballast.replication.frontend;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.server.RaftServer;

/**
 * Hands a volume's requests straight to this node's Raft server, with no gRPC hop: log entries
 * when this node leads the volume's group (the common case, since leadership follows the
 * attachment), and the read fence's linearizable reads whatever this node's role ({@link #read}).
 *
 * <p><b>Why.</b> Through the Ratis client an entry travels client -> gRPC over loopback -> server
 * and the reply back the same way: a protobuf copy of the payload each way and four thread
 * hand-offs per entry, which on a 2-core node cost more than the log's fsync (measured:
 * docs/benchmarks.md, "in-process submission"). In-process, the entry goes from the NBD request
 * to the leader's log append with no copy and no hop, and the reply future completes on the
 * server's apply thread.
 *
 * <p><b>Contract.</b> {@link #submit} returns null when this node is not the ready leader (the
 * caller then uses its Ratis client, which finds the leader). A reply future fails or carries a
 * NotLeaderException when leadership moved after the check (Ratis answers every pending request
 * when its leader steps down or closes). The timeout is only a backstop, as long as the writes'
 * whole retry budget: unlike the Ratis client, which resends a timed-out request with the same
 * call id (the server's retry cache drops the duplicate), a resubmission here is a new entry, so
 * a short timeout would append every slow entry twice under overload and feed the overload.
 * Retry-cache identity: one client id per handle, increasing call ids. Thread-safe.
 *
 * <p><b>Straight to the division.</b> {@code RaftServer.submitClientRequestAsync} runs the submission
 * on the server's client pool and blocks the caller until it has run ({@code supplyAsync(..).join()}
 * in Ratis 3.3's RaftServerImpl): two thread wake-ups per entry for no concurrency. The division
 * itself takes the request on the caller's thread (Ratis's own RaftClientAsynchronousProtocol); the
 * server path remains for a division that is not one. The backstop timeout is a {@link ReplyDeadlines}
 * entry, not a JDK orTimeout (two more wake-ups per entry).
 */
public final class LocalSubmitter {
    private final RaftServer server;
    private final RaftServer.Division division;
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    /** The division's own request entry, or null (then through the server). */
    private final RaftClientAsynchronousProtocol direct;
    private final long timeoutMs;

    public LocalSubmitter(RaftServer server, RaftServer.Division division, Duration timeout) {
        this.server = server;
        this.division = division;
        this.direct = division instanceof RaftClientAsynchronousProtocol p ? p : null;
        this.timeoutMs = timeout.toMillis();
    }

    /**
     * A linearizable read-only query answered by this node's replica: Ratis takes a read index from
     * the leader (this node, or the leader over one RPC when this node follows), confirms it by the
     * leader's lease or a heartbeat round, waits for this replica to apply it, then asks the state
     * machine. Fails (NotLeader, ReadIndex, timeout) when no leader can confirm in {@code timeoutMs}.
     */
    CompletableFuture<RaftClientReply> read(Message query, long timeoutMs) {
        return send(query, RaftClientRequest.readRequestType(), timeoutMs);
    }

    /** The reply of the entry, or null when this node is not the volume's ready leader. */
    CompletableFuture<RaftClientReply> submit(Message message) {
        if (!division.getInfo().isLeaderReady()) {
            return null;
        }
        return send(message, RaftClientRequest.writeRequestType(), timeoutMs);
    }

    private CompletableFuture<RaftClientReply> send(Message message, RaftClientRequest.Type type, long timeout) {
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(clientId)
                .setServerId(server.getId())
                .setGroupId(division.getGroup().getGroupId())
                .setCallId(callIds.incrementAndGet())
                .setMessage(message)
                .setType(type)
                .setTimeoutMs(timeout)
                .build();
        try {
            CompletableFuture<RaftClientReply> reply = direct != null
                    ? direct.submitClientRequestAsync(request) : server.submitClientRequestAsync(request);
            return ReplyDeadlines.bound(reply, timeout);
        } catch (IOException | RuntimeException e) {
            // e.g. ServerNotReadyException from a division that is closing: the caller's retry path
            return CompletableFuture.failedFuture(e);
        }
    }
}
