package io.ballast.volumes;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.GroupStatus;
import io.ballast.replication.RaftNode;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves a volume's Raft leadership back to this node while the volume is attached here alone.
 *
 * <p>Why: an attach moves the leadership to the attaching node, so its writes go straight into the
 * local Raft division. An election (a paused or partitioned leader), a full disk or a drain moves
 * it away later, and then every write crosses the network to the leader and back as a Ratis client
 * request; nothing else would bring it home until the next attach. This puts it back once it has
 * been away for the configured delay, which also leaves an operator's {@code volume lead} in place
 * for that long.
 *
 * <p>What keeps it from fighting other movers: it pulls only while this node is neither full nor
 * drained (the reasons {@code LeaderHandoff} pushes leaderships away), only for a handle that is not
 * fenced by a newer attach elsewhere (whose node then pulls instead), never for a multi-writer or a
 * diskless attachment, and after a failed move it waits twice as long before the next (up to
 * {@link #MAX_BACKOFF}; the timing rules are {@link HomingSchedule}'s).
 *
 * <p>Threading: one scheduler thread; a move blocks it for at most the catch-up wait.
 */
public final class LeaderHoming implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderHoming.class);
    static final long PERIOD_MILLIS = 2000;
    /** A lagging replica here gets this long to catch up before a move is given up (and retried later). */
    private static final Duration CATCH_UP_WAIT = Duration.ofSeconds(5);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    private final RaftNode raft;
    private final Supplier<Set<String>> homed;
    private final long delayNanos;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("ballast-leader-homing").factory());
    /** Only the timer thread touches it. */
    private final HomingSchedule schedule;

    /**
     * @param homed the volumes attached here alone with a local replica and a handle not fenced
     * @param delay how long a leadership may stay away before it is moved back; zero = never
     */
    LeaderHoming(RaftNode raft, Supplier<Set<String>> homed, Duration delay) {
        this.raft = raft;
        this.homed = homed;
        this.delayNanos = delay.toNanos();
        this.schedule = new HomingSchedule(delayNanos, TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS),
                MAX_BACKOFF.toNanos(), System.nanoTime());
    }

    LeaderHoming start() {
        if (delayNanos > 0) {
            timer.scheduleWithFixedDelay(this::check, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    private void check() {
        try {
            // While full or drained, LeaderHandoff moves leaderships off this node instead.
            if (!schedule.begin(System.nanoTime(), raft.space().localFull() || raft.drain().selfDrained())) {
                return;
            }
            Set<String> names = homed.get();
            schedule.retain(names);
            for (String name : names) {
                home(name);
            }
        } catch (RuntimeException e) {
            LOG.debug("leader homing: {}", e.toString());
        } finally {
            schedule.end(System.nanoTime());
        }
    }

    private void home(String name) {
        String leader;
        try {
            GroupStatus s = raft.status(name);
            leader = "FOLLOWER".equals(s.role()) ? s.leaderId() : null;
        } catch (BallastException e) { // the replica is opening or going away: ask next round
            return;
        }
        if (leader == null || leader.equals(raft.nodeId())) {
            schedule.atHome(name);
            return;
        }
        long now = System.nanoTime();
        if (!schedule.due(name, now)) {
            return;
        }
        try {
            raft.transferLeadership(name, raft.nodeId(), CATCH_UP_WAIT);
            LOG.info("volume {}: leadership moved back to {}, where it is attached, from {} (away {} s)", name,
                    raft.nodeId(), leader, TimeUnit.NANOSECONDS.toSeconds(schedule.awayNanos(name, now)));
            schedule.moved(name);
        } catch (BallastException e) {
            long wait = schedule.failed(name, System.nanoTime());
            LOG.info("volume {}: leadership could not move back here from {} ({}); next try in {} s", name, leader,
                    e.getMessage(), TimeUnit.NANOSECONDS.toSeconds(wait));
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
