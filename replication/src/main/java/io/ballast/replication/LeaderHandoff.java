package io.ballast.replication;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.space.SpaceGuard;
import io.ballast.replication.statemachine.VolumeStateMachine;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves leaderships off this node while it should not lead, for either of two reasons:
 * <ul>
 *   <li><b>A full disk.</b> A leader on a full disk refuses writes (its own Raft log would run out
 *   first, and Ratis 3.3.0 keeps leading with a log whose writes fail), although the other members
 *   may have room. When every other member is full too, nothing moves: the writes are refused
 *   with NO_SPACE ({@link SpaceGuard}).
 *   <li><b>Maintenance.</b> An operator drained this node (`ballast node drain`, {@link DrainState}):
 *   it is about to go away, and its groups should not wait for an election when it does.
 * </ul>
 * Every {@link #PERIOD_MILLIS} each volume group this node leads is handed to a member that is
 * neither reported full nor drained, which takes the writes the frontend retries meanwhile. This
 * replica then follows.
 *
 * <p>Threading: one scheduler thread; a transfer blocks it for at most the catch-up wait.
 */
public final class LeaderHandoff implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderHandoff.class);
    static final long PERIOD_MILLIS = 2000;
    private static final Duration CATCH_UP_WAIT = Duration.ofSeconds(5);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final RaftServer server;
    private final RaftNode node;
    private final SpaceGuard space;
    private final DrainState drain;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("ballast-leader-handoff").factory());
    private final Map<RaftGroupId, Long> warned = new HashMap<>();

    LeaderHandoff(RaftServer server, RaftNode node, SpaceGuard space, DrainState drain) {
        this.server = server;
        this.node = node;
        this.space = space;
        this.drain = drain;
    }

    LeaderHandoff start() {
        timer.scheduleWithFixedDelay(this::check, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    private void check() {
        boolean full = space.localFull();
        boolean drained = drain.selfDrained();
        if (!full && !drained) {
            warned.clear();
            return;
        }
        String why = drained ? "this node is drained for maintenance"
                : "this node's disk is full (" + space.local().reading().describe() + ")";
        try {
            for (RaftGroupId gid : server.getGroupIds()) {
                handOff(gid, full, why);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("leader handoff: {}", e.toString());
        }
    }

    private void handOff(RaftGroupId gid, boolean full, String why) throws IOException {
        RaftServer.Division d = server.getDivision(gid);
        if (!(d.getStateMachine() instanceof VolumeStateMachine sm) || !d.getInfo().isLeader() || sm.volumeName() == null) {
            return;
        }
        List<String> members = new ArrayList<>();
        d.getRaftConf().getCurrentPeers().forEach(p -> members.add(p.getId().toString()));
        List<String> roomy = space.roomyPeers(members);
        if (full && roomy.size() + 1 <= members.size() / 2) {
            return; // a full majority: the writes are refused with NO_SPACE, moving would not help
        }
        List<String> targets = roomy.stream().filter(m -> !drain.drained(m)).toList();
        BallastException last = null;
        for (String target : targets) {
            try {
                node.transferLeadership(sm.volumeName(), target, CATCH_UP_WAIT);
                LOG.warn("volume {}: {}; its leadership moved to {}", sm.volumeName(), why, target);
                warned.remove(gid);
                return;
            } catch (BallastException e) {
                last = e;
            }
        }
        long now = System.nanoTime();
        Long before = warned.get(gid);
        if (before == null || now - before > WARN_EVERY_NANOS) {
            warned.put(gid, now);
            LOG.warn("volume {}: {} and its leadership could not move yet: {}", sm.volumeName(), why,
                    targets.isEmpty() ? "no member is both undrained and not full" : "to " + targets + ": " + last.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
