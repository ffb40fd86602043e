package io.ballast.replication.ratis;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.IOUtils;

/**
 * Adds or removes a group on this node's own Raft server, in process: Ratis's group-management
 * request without a client or a gRPC round trip to itself.
 *
 * <p><b>Why not through a client.</b> A client gives each request a few seconds and then sends it
 * again. Removing a division closes it and may delete its directory, which on a busy machine
 * takes longer than that. The server takes the group out of its table before it closes it, so the
 * resent removal is answered "group not found" while the first one is still at work; a caller
 * then failed a removal that happened, and a caller that re-added the group at once could meet a
 * directory still being deleted. In process there is one request, and its answer comes when the
 * division is closed and its directory gone. A resent add had the same flaw in the other
 * direction ("already exists" for an add that happened).
 */
public final class LocalGroupRequest {
    /** Longer than any close or start seen; past it the caller gets an error while Ratis goes on. */
    private static final long TIMEOUT_SECONDS = 120;
    private static final ClientId CLIENT = ClientId.randomId();
    private static final AtomicLong CALLS = new AtomicLong();

    private LocalGroupRequest() {
    }

    /** Starts {@code group} on {@code server}: from its directory, or formatting a fresh one. */
    public static RaftClientReply add(RaftServer server, RaftGroup group, boolean format) throws IOException {
        return send(server, GroupManagementRequest.newAdd(CLIENT, server.getId(), CALLS.incrementAndGet(), group, format));
    }

    /** Closes {@code gid}'s division on {@code server}, deleting its Raft directory when asked. */
    public static RaftClientReply remove(RaftServer server, RaftGroupId gid, boolean deleteDirectory) throws IOException {
        return send(server, GroupManagementRequest.newRemove(CLIENT, server.getId(), CALLS.incrementAndGet(),
                gid, deleteDirectory, false));
    }

    private static RaftClientReply send(RaftServer server, GroupManagementRequest request) throws IOException {
        try {
            return server.groupManagementAsync(request).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw IOUtils.toIOException(e);
        } catch (TimeoutException e) {
            throw new IOException(request + " did not finish within " + TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw (InterruptedIOException) new InterruptedIOException("interrupted waiting for " + request).initCause(e);
        }
    }
}
