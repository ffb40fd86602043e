package io.ballast.replication.ratis;

import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.apache.ratis.protocol.exceptions.TimeoutIOException;
import org.apache.ratis.server.RaftServer;

/**
 * Asks this node's own Raft server for a snapshot of one of its groups, in process: Ratis's
 * snapshot-management request, without a client or a gRPC round trip to itself.
 *
 * <p><b>Why in process, and why a timeout is not an error.</b> Ratis 3.3's handler keeps one
 * pending request per group and arms a timer for each request, but the timer fails whichever
 * request is pending when it fires ({@code SnapshotManagementRequestHandler.timeout}), not its own.
 * Under steady writes a checkpoint is asked for every few hundred milliseconds, so the timer of a
 * request answered a minute ago fails the one pending now: "Failed to take a snapshot within
 * timeout" while snapshots are taken all along. Through the admin gRPC service each such failure
 * also logged a warning with a stack trace on the server. {@link #create} reports it as
 * {@link Outcome#SUPERSEDED}; the caller asks again at its next trigger.
 */
public final class LocalSnapshotRequest {
    private static final ClientId CLIENT = ClientId.randomId();
    private static final AtomicLong CALLS = new AtomicLong();

    /** What came of a request. */
    public enum Outcome { TAKEN, SUPERSEDED }

    private LocalSnapshotRequest() {
    }

    /**
     * Asks {@code division}'s server for a snapshot and waits up to {@code timeoutMs} for it.
     *
     * @throws IOException when Ratis refused or failed the request (not a stale timeout)
     */
    public static Outcome create(RaftServer.Division division, long timeoutMs) throws IOException, InterruptedException {
        SnapshotManagementRequest request = SnapshotManagementRequest.newCreate(CLIENT, division.getId(),
                division.getGroup().getGroupId(), CALLS.incrementAndGet(), timeoutMs, 1);
        RaftClientReply reply;
        try {
            reply = division.getRaftServer().snapshotManagementAsync(request).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutIOException) {
                return Outcome.SUPERSEDED;
            }
            throw new IOException("snapshot request failed: " + e.getCause(), e.getCause());
        }
        if (reply.isSuccess()) {
            return Outcome.TAKEN;
        }
        throw new IOException("snapshot request refused: " + reply.getException(), reply.getException());
    }
}
