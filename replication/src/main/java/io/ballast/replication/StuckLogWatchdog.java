package io.ballast.replication;

import io.ballast.replication.statemachine.VolumeStateMachine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings back a follower whose Raft log stopped for good. When a write of Ratis's log fails (the
 * disk was full: ENOSPC from the log file or, through the sync policy, from the entry journal),
 * Ratis 3.3.0's log worker fails that task and <em>every later one</em> ("Log already failed")
 * while the division stays up: the follower still hears the leader but never stores another
 * entry, even after space returns. Only reopening the log clears it, which a node restart did.
 *
 * <p>Every {@link #PERIOD_SECONDS} s this looks at each volume group this node follows: its log's
 * flushed index, the leader's commit index as the leader last told it, and how long ago the leader
 * last spoke. A follower that hears its leader, is behind its commit, and has not flushed a single
 * entry for {@link #STUCK_SECONDS} s (and is not being rebuilt) has a dead log worker: once the
 * data directory has {@link #MIN_FREE_BYTES} free, the group's division is restarted ({@link
 * RaftNode#restartDivision}: reopened from its directory, replica kept) and catches up from the
 * leader. If it is still stuck after that, the leader must hold a match index above this log (a
 * failed log acknowledges resent entries it holds only in memory), and is asked to step down: a
 * new term starts every follower afresh. Still stuck under the new term, the replica is re-created
 * empty and rebuilt by block copy ({@link RaftNode#rejoinAfresh}): what is left is the Ratis
 * livelock where the leader cannot name the entry before this replica's next one. A division
 * Ratis closed while the server still holds it (its log worker failed for good) is reopened the
 * same way ({@link #reopenClosed}). A replica waiting for space says so, once a minute.
 *
 * <p>Threading: one scheduler thread; the state maps are confined to it.
 */
public final class StuckLogWatchdog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StuckLogWatchdog.class);
    static final long PERIOD_SECONDS = 5;
    static final long STUCK_SECONDS = Long.getLong("ballast.log.stuckSeconds", 20);
    static final long MIN_FREE_BYTES = 64L << 20;
    /** A leader heard within this long counts as heard (heartbeats come every ~0.3 s). */
    private static final long LEADER_HEARD_MS = 3000;

    private record Seen(long flushIndex, long sinceNanos) {}

    private final RaftServer server;
    private final Path dataDir;
    private final RaftNode node;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("ballast-log-watchdog").factory());
    private final Map<RaftGroupId, Seen> seen = new HashMap<>();
    private final Map<RaftGroupId, Long> lastWarned = new HashMap<>();
    /**
     * Groups restarted by this watchdog whose log has not moved since, with the leader's commit
     * index then: a reopened follower whose appends all fail the consistency check never learns it
     * again (Ratis takes the leader's commit infos only from appends that pass).
     */
    private final Map<RaftGroupId, Long> restarted = new HashMap<>();
    /**
     * Groups whose leader was asked to step down for this replica and that have not moved since.
     * Still stuck under the new term: the leader cannot name the entry before this replica's next
     * one (Ratis's ALREADY_INSTALLED livelock, RatisAlreadyInstalledLivelockTest), so the replica is
     * re-created empty and rebuilt by block copy.
     */
    private final Set<RaftGroupId> steppedDown = new HashSet<>();
    /** Groups whose division was seen closed while still registered with the server, since when. */
    private final Map<RaftGroupId, Long> closedSince = new HashMap<>();

    StuckLogWatchdog(RaftServer server, Path dataDir, RaftNode node) {
        this.server = server;
        this.dataDir = dataDir;
        this.node = node;
    }

    StuckLogWatchdog start() {
        timer.scheduleWithFixedDelay(this::check, PERIOD_SECONDS, PERIOD_SECONDS, TimeUnit.SECONDS);
        return this;
    }

    private void check() {
        Map<RaftGroupId, Seen> now = new HashMap<>();
        Set<RaftGroupId> groups = new HashSet<>();
        for (RaftGroupId gid : server.getGroupIds()) {
            groups.add(gid);
            try {
                Seen s = checkGroup(gid);
                if (s != null) {
                    now.put(gid, s);
                }
            } catch (IOException | RuntimeException e) {
                // one group's failure (gone meanwhile, a restart refused) must not skip the others
                LOG.debug("log watchdog: {}: {}", gid, e.toString());
                Optional.ofNullable(seen.get(gid)).ifPresent(s -> now.put(gid, s));
            }
        }
        seen.keySet().retainAll(now.keySet());
        seen.putAll(now);
        lastWarned.keySet().retainAll(now.keySet());
        restarted.keySet().retainAll(groups); // groups deleted meanwhile
        steppedDown.retainAll(groups);
        closedSince.keySet().retainAll(groups);
    }

    /** The group's state to remember, or null when it is not a follower falling behind. */
    private Seen checkGroup(RaftGroupId gid) throws IOException {
        RaftServer.Division d = server.getDivision(gid);
        if (!(d.getStateMachine() instanceof VolumeStateMachine sm)) {
            return null; // the catalog
        }
        if (d.getInfo().getLifeCycleState() == LifeCycle.State.CLOSED) {
            reopenClosed(gid, sm);
            return null;
        }
        closedSince.remove(gid);
        var follower = d.getInfo().getRoleInfoProto().getFollowerInfo();
        if (sm.rebuilding() || !d.getInfo().isFollower() || !d.getInfo().isAlive() || sm.journalFullSince() != null
                || !follower.hasLeaderInfo() || follower.getLeaderInfo().getLastRpcElapsedTimeMs() > LEADER_HEARD_MS) {
            // Not a follower stuck on a dead log: being rebuilt, leading, a journal waiting for
            // space (it resumes by itself; the clock starts after it), or not hearing a leader (a
            // partition). Whatever it said before no longer holds.
            sm.logStuck(null);
            return null;
        }
        long flushed = d.getRaftLog().getFlushIndex();
        long leaderCommit = Math.max(restarted.getOrDefault(gid, 0L),
                d.getCommitInfos().stream().mapToLong(CommitInfoProto::getCommitIndex).max().orElse(0));
        Seen before = seen.get(gid);
        long now = System.nanoTime();
        if (flushed >= leaderCommit || before == null || before.flushIndex() != flushed) {
            if (flushed >= leaderCommit || before != null) {
                restarted.remove(gid); // it caught up or moves: whatever was done worked
                steppedDown.remove(gid);
                sm.logStuck(null);
            }
            return flushed >= leaderCommit ? null : new Seen(flushed, now);
        }
        if (now - before.sinceNanos() < TimeUnit.SECONDS.toNanos(STUCK_SECONDS)) {
            return before;
        }
        long free = Files.getFileStore(dataDir).getUsableSpace();
        String why = "its Raft log flushed nothing for " + TimeUnit.NANOSECONDS.toSeconds(now - before.sinceNanos())
                + " s at index " + flushed + " while the leader committed " + leaderCommit
                + " (a log write failed, e.g. the disk was full)";
        sm.logStuck("Raft log stuck since " + Instant.now().minusNanos(now - before.sinceNanos())
                + (free < MIN_FREE_BYTES ? ": disk full (" + (free >> 20) + " MiB free)" : ""));
        if (free < MIN_FREE_BYTES) {
            warnOncePerMinute(gid, now, "{} ({}): {}; waiting for space: {} MiB free in {}", gid, sm.volumeName(), why,
                    free >> 20, dataDir);
            return before;
        }
        if (steppedDown.contains(gid)) {
            if (node.rejoinAfresh(gid, why + ", also under a new leader term")) {
                LOG.warn("{} ({}): {}, also after a restart and under a new leader term; the replica was re-created "
                        + "empty and is rebuilt from the leader", gid, sm.volumeName(), why);
                steppedDown.remove(gid);
                lastWarned.remove(gid);
                return null;
            }
            warnOncePerMinute(gid, now, "{} ({}): {}; re-creating the replica waits until the volume attached on this "
                    + "node is detached", gid, sm.volumeName(), why);
            return before;
        }
        if (restarted.remove(gid) != null) {
            // Restarted already and still stuck: the leader holds a matchIndex above this log (the
            // failed log acknowledged entries it had only in memory), sends from there, and never
            // backs off. A new leader term starts every follower afresh.
            LOG.warn("{} ({}): {} after a restart of its division; asking the leader to step down so that a new "
                    + "term resends what this replica lacks", gid, sm.volumeName(), why);
            node.askLeaderToStepDown(gid);
            steppedDown.add(gid);
            return null;
        }
        node.restartDivision(gid, why);
        LOG.warn("{} ({}): {}; its Raft division was restarted and catches up from the leader", gid, sm.volumeName(), why);
        lastWarned.remove(gid);
        restarted.put(gid, leaderCommit);
        return null;
    }

    /**
     * A division closed while the server still holds it: Ratis closes one whose log worker failed
     * for good (a log write behind a rebuilt log, after a full disk: DiskFullIT's race) and leaves
     * it closed; every request to it fails until a node restart. A group being removed leaves the
     * server's map before its division closes, and a restart by this node or a rebuild handover
     * reopens within a moment: so a division closed at two checks in a row ({@link #PERIOD_SECONDS}
     * apart) is reopened from its directory, once the disk has room, and catches up from the leader.
     */
    private void reopenClosed(RaftGroupId gid, VolumeStateMachine sm) throws IOException {
        long now = System.nanoTime();
        Long since = closedSince.putIfAbsent(gid, now);
        if (since == null || sm.rebuilding()) {
            return;
        }
        long free = Files.getFileStore(dataDir).getUsableSpace();
        String why = "its Raft division was closed under the running server for "
                + TimeUnit.NANOSECONDS.toSeconds(now - since) + " s (a log write failed, e.g. the disk was full)";
        if (free < MIN_FREE_BYTES) {
            warnOncePerMinute(gid, now, "{} ({}): {}; waiting for space: {} MiB free in {}", gid, sm.volumeName(), why,
                    free >> 20, dataDir);
            return;
        }
        node.restartDivision(gid, why);
        LOG.warn("{} ({}): {}; it was reopened and catches up from the leader", gid, sm.volumeName(), why);
        closedSince.remove(gid);
        lastWarned.remove(gid);
    }

    private void warnOncePerMinute(RaftGroupId gid, long now, String format, Object... args) {
        Long warned = lastWarned.get(gid);
        if (warned == null || now - warned > TimeUnit.MINUTES.toNanos(1)) {
            lastWarned.put(gid, now);
            LOG.warn(format, args);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
