package io.ballast.replication.rebuild;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * What a replica's store holds, for an incremental rebuild: which regions changed at which log index
 * ({@link RegionGenerations}, saved with every checkpoint), and the applied index a clean stop left
 * ({@link CleanStopMark}). The state machine reports its applies, checkpoints, copies and stops here;
 * a rebuild asks {@link #storeIndex} (the follower) and {@link #changedSince} (the leader).
 */
public final class ChangeTracker {
    private final Supplier<String> who;
    /** Null until the replica has a store. */
    private volatile RegionGenerations generations;
    private Path generationsFile;
    /**
     * The mark of a clean stop ({@link CleanStopMark}): the applied index the store held durably.
     * Read and deleted at the next start.
     */
    private Path cleanStopFile;
    /** The clean stop's applied index, valid while nothing has been applied since the start; else -1. */
    private volatile long cleanStopIndex = -1;
    /** The applied index this replica started from (-1: not started). */
    private volatile long startIndex = -1;

    public ChangeTracker(Supplier<String> who) {
        this.who = who;
    }

    /** Finds the files in the state machine directory and takes the clean-stop mark, if any. */
    public void open(Path stateMachineDir) throws IOException {
        generationsFile = stateMachineDir.resolve("regions");
        cleanStopFile = stateMachineDir.resolve("clean-stop");
        cleanStopIndex = CleanStopMark.take(cleanStopFile);
    }

    /** The replica loaded its checkpoint and applied index {@code applied}; nothing applied since. */
    public void started(long applied) {
        startIndex = applied;
    }

    public boolean tracking() {
        return generations != null;
    }

    /** The generations saved with the checkpoint at {@code checkpointIndex} (or uniform at it) for a store of {@code size}. */
    public void load(long size, long checkpointIndex) {
        generations = RegionGenerations.load(generationsFile, size, checkpointIndex);
    }

    /** A CREATE applied at {@code index}: a new store is uniform, an existing one may have grown. */
    public void created(long size, long index) {
        RegionGenerations g = generations;
        if (g == null) {
            generations = RegionGenerations.uniform(size, index);
        } else {
            g.grown(size, index);
        }
    }

    /** The table that applies at {@code index} update; a store a failed copy opened counts as changed everywhere. */
    public RegionGenerations forApply(long size, long index) {
        RegionGenerations g = generations;
        if (g == null) {
            g = generations = RegionGenerations.uniform(size, index);
        }
        return g;
    }

    /** Saves the table: with a checkpoint, at least as new as the store (see {@link RegionGenerations}). */
    public void save() throws IOException {
        RegionGenerations g = generations;
        if (g != null) {
            g.save(generationsFile);
        }
    }

    /**
     * After a copy from T0: copied regions reflect at least T0 (a full copy: every region), the
     * others kept their state and generation. Saved before the checkpoint file that names T0.
     */
    public void adopt(BlockCopier.Copied copied) throws IOException {
        long size = copied.start().size();
        long index = copied.start().index();
        RegionGenerations g = generations;
        if (copied.incremental() && g != null) {
            for (long[] r : BlockCopier.ranges(copied.changed(), size)) {
                g.written(r[0], r[1] - r[0], index);
            }
            g.grown(size, index);
        } else {
            g = generations = RegionGenerations.uniform(size, index);
        }
        g.save(generationsFile);
        cleanStopIndex = -1; // the store holds the copy now
    }

    /**
     * An index whose state the store holds at least: the applied index, or, when this replica
     * stopped cleanly and has applied nothing since it started, the applied index at that stop (a
     * restart loads only its last checkpoint; without this an incremental rebuild after a reboot
     * would copy every region changed since that checkpoint, up to a checkpoint interval's worth).
     */
    public long storeIndex(long applied) {
        long stop = cleanStopIndex;
        return applied == startIndex && stop > applied ? stop : applied;
    }

    /** The regions changed after {@code index} here (QUERY_CHANGED, an incremental rebuild's question). */
    public RegionGenerations.Changed changedSince(long index) {
        RegionGenerations g = generations;
        if (g == null) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume replica not created yet on " + who.get());
        }
        return g.changedSince(index);
    }

    /** The store was closed durably at {@code applied}: the next start may rely on it. */
    public void stoppedCleanly(long applied) throws IOException {
        if (cleanStopFile != null && applied >= 0) {
            CleanStopMark.write(cleanStopFile, applied);
        }
    }
}
