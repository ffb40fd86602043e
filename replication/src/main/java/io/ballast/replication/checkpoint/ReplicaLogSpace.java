package io.ballast.replication.checkpoint;

import io.ballast.replication.config.ReplicationConfig;
import java.util.concurrent.Executor;
import org.apache.ratis.server.raftlog.RaftLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one replica's Raft log and entry journal within its {@link LogBudget}: asks for a
 * checkpoint after the budget's share of entry bytes ({@link CheckpointTrigger}), and after each
 * checkpoint purges the log down to the bytes the budget keeps for a lagging member
 * ({@link LogPurgePoints}). The budget follows the volume's size. Entry bookkeeping and purges
 * run on the apply thread (Ratis takes checkpoints there too); the budget is read anywhere.
 */
public final class ReplicaLogSpace {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaLogSpace.class);

    private final long floor;
    private final long journalFileSize;
    private final CheckpointTrigger growth;
    private final LogPurgePoints points = new LogPurgePoints();
    private volatile long segmentSize = ReplicationConfig.SEGMENT_SIZE_MAX_DEFAULT;
    private volatile long volumeSize;
    private volatile LogBudget budget;

    /** {@code requestCheckpoint} asks Ratis for one (blocking); it runs on {@code background}. */
    public ReplicaLogSpace(long floor, long journalFileSize, Executor background, Runnable requestCheckpoint) {
        this.floor = floor;
        this.journalFileSize = journalFileSize;
        this.budget = LogBudget.of(0, floor, segmentSize, journalFileSize);
        this.growth = new CheckpointTrigger(budget.checkpointEvery(), background, requestCheckpoint);
    }

    /** The Raft log's segment size (whole segments are purged). */
    public void segmentSize(long bytes) {
        segmentSize = bytes;
        sized(volumeSize);
    }

    /** The volume is {@code size} bytes now. */
    public void sized(long size) {
        volumeSize = size;
        LogBudget b = LogBudget.of(size, floor, segmentSize, journalFileSize);
        if (!b.equals(budget)) {
            budget = b;
            growth.everyBytes(b.checkpointEvery());
        }
    }

    /** Entry {@code index}, taking {@code bytes} in the log and journal, was applied. */
    public void applied(long index, long bytes) {
        growth.applied(bytes);
        points.applied(index, bytes);
    }

    public void checkpointTaken() {
        growth.snapshotTaken();
    }

    public long bytesSinceCheckpoint() {
        return growth.bytesSinceSnapshot();
    }

    public LogBudget budget() {
        return budget;
    }

    /**
     * Ratis purges after a checkpoint only to the lowest index its members committed (a member
     * down holds the log back); this caps what is kept for such a member at the budget's lag tail,
     * in bytes. Safe at any index up to {@code checkpointed}: the store holds those entries durably.
     */
    public void purgeAfterCheckpoint(long checkpointed, RaftLog log, Object who) {
        long p = points.purgeIndex(checkpointed, budget.lagTail());
        LOG.debug("{}: checkpoint at {}: purge to {} keeps at most {} bytes", who, checkpointed, p, budget.lagTail());
        if (p < 0) {
            return;
        }
        try {
            if (p > log.getStartIndex()) {
                log.purge(Math.min(p, checkpointed));
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: purging the log to {} failed (next checkpoint tries again): {}", who, p, e.toString());
        }
    }
}
