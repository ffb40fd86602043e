package io.ballast.replication.ratis;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a node's Ratis server in a process that is about to exit: returns once every division
 * (one per group this node is a member of) has closed, its state machine and its Raft log closed,
 * without waiting for the rest of Ratis's close.
 *
 * <p><b>Why.</b> Ratis closes its divisions on its proxy pool while it tears down its network side,
 * and that teardown shuts each peer's gRPC channel down gracefully: it waits up to 3 s for the
 * channel's open streams, one peer after another, and a stopping leader's log appenders leave
 * their streams open. A node with one 3-replica volume took 3.4 s from SIGTERM to exit, 3 s of it
 * that wait; in a larger cluster a node has more peers, each adding up to 3 s, against a pod's
 * 30 s termination grace period. Nothing durable is left to the part not waited for: the divisions
 * are closed, and the exit closes the sockets.
 *
 * <p>Only for a process that exits next: a server reopened in the same process on the same port
 * must wait for the whole close ({@link RaftServer#close()}).
 */
public final class ServerCloseForExit {
    private static final Logger LOG = LoggerFactory.getLogger(ServerCloseForExit.class);
    /** How often the divisions' states are looked at while they close. */
    private static final Duration POLL = Duration.ofMillis(20);

    private ServerCloseForExit() {
    }

    /**
     * Closes {@code server}; returns when all its divisions are closed or the whole close is done,
     * at the latest after {@code limit} (then with a warning: the exit cuts the rest short).
     */
    public static void close(RaftServer server, Duration limit) throws IOException {
        List<RaftServer.Division> divisions = new ArrayList<>();
        for (RaftGroupId gid : server.getGroupIds()) {
            try {
                divisions.add(server.getDivision(gid));
            } catch (IOException e) {
                LOG.debug("group {} has no division to wait for: {}", gid, e.toString());
            }
        }
        AtomicReference<IOException> failure = new AtomicReference<>();
        Thread closing = Thread.ofPlatform().daemon().name("raft-server-close").start(() -> {
            try {
                server.close();
            } catch (IOException e) {
                failure.set(e);
            }
        });
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            while (closing.isAlive() && !allClosed(divisions)) {
                if (System.nanoTime() >= deadline) {
                    LOG.warn("{} of {} Raft groups still closing after {} s; exiting without them",
                            divisions.stream().filter(d -> !closed(d)).count(), divisions.size(), limit.toSeconds());
                    return;
                }
                closing.join(POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        if (closing.isAlive()) {
            LOG.debug("all {} Raft groups closed; leaving Ratis's network teardown to the exit", divisions.size());
        }
    }

    private static boolean allClosed(List<RaftServer.Division> divisions) {
        return divisions.stream().allMatch(ServerCloseForExit::closed);
    }

    private static boolean closed(RaftServer.Division d) {
        return d.getInfo().getLifeCycleState() == LifeCycle.State.CLOSED;
    }
}
