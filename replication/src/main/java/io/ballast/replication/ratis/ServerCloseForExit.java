package io.ballast.replication.ratis;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * <p><b>All divisions at once.</b> Ratis closes them on its proxy pool, a few at a time, and each
 * close waits up to 1 s for its log worker's queue poll to see it should stop: with 30 replicas
 * the node took 4.3 s to exit with a pool of 4. Here each division is closed on a thread of its own
 * (Ratis's close of a division that is already closed is a no-op), which took it to 1.8-2.1 s, without
 * a larger pool that would also start more divisions at once at the next start (slower there on
 * 2 cores: 3.9-4.6 s against 3.0-3.5 s to ready with 16 threads against 4).
 *
 * <p>Only for a process that exits next: a server reopened in the same process on the same port
 * must wait for the whole close ({@link RaftServer#close()}).
 */
public final class ServerCloseForExit {
    private static final Logger LOG = LoggerFactory.getLogger(ServerCloseForExit.class);
    /** How often the divisions' states are looked at while they close. */
    private static final Duration POLL = Duration.ofMillis(20);
    /** Divisions closed at once: mostly each waits for its log worker, so this is not about cores. */
    private static final int CLOSERS = 64;

    private ServerCloseForExit() {
    }

    /**
     * Closes {@code server}: every division at once, and the rest (its network side) on a daemon
     * thread. Returns when all divisions are closed, at the latest after {@code limit} (then with a
     * warning: the exit cuts the rest short).
     */
    public static void close(RaftServer server, Duration limit) {
        List<RaftServer.Division> divisions = new ArrayList<>();
        for (RaftGroupId gid : server.getGroupIds()) {
            try {
                divisions.add(server.getDivision(gid));
            } catch (IOException e) {
                LOG.debug("group {} has no division to wait for: {}", gid, e.toString());
            }
        }
        closeEach(divisions);
        Thread.ofPlatform().daemon().name("raft-server-close").start(() -> {
            try {
                server.close();
            } catch (IOException e) {
                LOG.warn("closing the Raft server: {}", e.toString());
            }
        });
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            // Not "until the server's close returns": Ratis's close does not wait for a division
            // that another thread is closing (here, closeEach's).
            while (!allClosed(divisions)) {
                if (System.nanoTime() >= deadline) {
                    LOG.warn("{} of {} Raft groups still closing after {} s; exiting without them",
                            divisions.stream().filter(d -> !closed(d)).count(), divisions.size(), limit.toSeconds());
                    return;
                }
                Thread.sleep(POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts every division's close, each on a daemon thread of its own (at most {@link #CLOSERS} at once). */
    private static void closeEach(List<RaftServer.Division> divisions) {
        if (divisions.isEmpty()) {
            return;
        }
        ExecutorService closers = Executors.newFixedThreadPool(Math.min(divisions.size(), CLOSERS),
                Thread.ofPlatform().daemon().name("raft-division-close-", 0).factory());
        for (RaftServer.Division d : divisions) {
            closers.execute(() -> {
                try {
                    d.close();
                } catch (RuntimeException e) {
                    LOG.warn("closing {}: {}", d.getMemberId(), e.toString());
                }
            });
        }
        closers.shutdown();
    }

    private static boolean allClosed(List<RaftServer.Division> divisions) {
        return divisions.stream().allMatch(ServerCloseForExit::closed);
    }

    private static boolean closed(RaftServer.Division d) {
        return d.getInfo().getLifeCycleState() == LifeCycle.State.CLOSED;
    }
}
