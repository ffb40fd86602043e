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
 * Moves leaderships off this node while its disk is above the full ratio. A leader on a full disk
 * refuses writes (its own Raft log would run out first, and Ratis 3.3.0 keeps leading with a log
 * whose writes fail), although the other members may have room: every {@link #PERIOD_MILLIS}
 * each volume group this node leads is handed to a member the catalog does not report full, which
 * takes the writes the frontend retries meanwhile. This replica then follows; if its disk runs out
 * it pauses like any full follower and the majority carries the volume. When every other member
 * is full too, nothing moves: the writes are refused with NO_SPACE ({@link SpaceGuard}).
 *
 * <p>Threading: one scheduler thread; a transfer blocks it for at most the catch-up wait.
 */
public final class FullLeaderHandoff implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FullLeaderHandoff.class);
    static final long PERIOD_MILLIS = 2000;
    private static final Duration CATCH_UP_WAIT = Duration.ofSeconds(5);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final RaftServer server;
    private final RaftNode node;
    private final SpaceGuard space;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("ballast-full-handoff").factory());
    private final Map<RaftGroupId, Long> warned = new HashMap<>();

    FullLeaderHandoff(RaftServer server, RaftNode node, SpaceGuard space) {
        this.server = server;
        this.node = node;
        this.space = space;
    }

    FullLeaderHandoff start() {
        timer.scheduleWithFixedDelay(this::check, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    private void check() {
        if (!space.localFull()) {
            warned.clear();
            return;
        }
        try {
            for (RaftGroupId gid : server.getGroupIds()) {
                handOff(gid);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("full-disk handoff: {}", e.toString());
        }
    }

    private void handOff(RaftGroupId gid) throws IOException {
        RaftServer.Division d = server.getDivision(gid);
        if (!(d.getStateMachine() instanceof VolumeStateMachine sm) || !d.getInfo().isLeader() || sm.volumeName() == null) {
            return;
        }
        List<String> members = new ArrayList<>();
        d.getRaftConf().getCurrentPeers().forEach(p -> members.add(p.getId().toString()));
        List<String> roomy = space.roomyPeers(members);
        if (roomy.size() + 1 <= members.size() / 2) {
            return; // a full majority: the writes are refused with NO_SPACE, moving would not help
        }
        BallastException last = null;
        for (String target : roomy) {
            try {
                node.transferLeadership(sm.volumeName(), target, CATCH_UP_WAIT);
                LOG.warn("volume {}: this node's disk is full ({}); its leadership moved to {}", sm.volumeName(),
                        space.local().reading().describe(), target);
                warned.remove(gid);
                return;
            } catch (BallastException e) {
                last = e;
            }
        }
        long now = System.nanoTime();
        Long before = warned.get(gid);
        if (last != null && (before == null || now - before > WARN_EVERY_NANOS)) {
            warned.put(gid, now);
            LOG.warn("volume {}: this node's disk is full and its leadership could not move to {} yet: {}", sm.volumeName(),
                    roomy, last.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
