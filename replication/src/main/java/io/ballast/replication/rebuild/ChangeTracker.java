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
     * Read at the start, deleted before the store is next written.
     */
    private Path cleanStopFile;
    /** The clean stop's applied index, valid while the store has not been written since the start; else -1. */
    private volatile long cleanStopIndex = -1;
    /**
     * The store was written since this replica started (an entry that changes blocks, or a copy).
     * Not the applied index: Ratis also applies configuration and no-op entries, which change no
     * block, and a restarted follower applies its group's first configuration entry before a
     * rebuild asks where its store stands.
     */
    private volatile boolean written;

    public ChangeTracker(Supplier<String> who) {
        this.who = who;
    }

    /** Finds the files in the state machine directory and reads the clean-stop mark, if any. */
    public void open(Path stateMachineDir) throws IOException {
        generationsFile = stateMachineDir.resolve("regions");
        cleanStopFile = stateMachineDir.resolve("clean-stop");
        cleanStopIndex = CleanStopMark.read(cleanStopFile);
    }

    /** Before the first store write since the start: the clean-stop mark must not outlive it on disk. */
    private void writing() {
        if (!written) {
            written = true;
            dropMark();
        }
    }

    /** A copy is about to write the store (see {@link CleanStopMark}); the index noted in memory stays valid. */
    public void copyStarting() {
        dropMark();
    }

    private void dropMark() {
        if (cleanStopFile == null) {
            return;
        }
        try {
            CleanStopMark.delete(cleanStopFile);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot delete the clean-stop mark " + cleanStopFile + ": " + e, e);
        }
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
        writing();
        RegionGenerations g = generations;
        if (g == null) {
            generations = RegionGenerations.uniform(size, index);
        } else {
            g.grown(size, index);
        }
    }

    /** The table that applies at {@code index} update; a store a failed copy opened counts as changed everywhere. */
    public RegionGenerations forApply(long size, long index) {
        writing();
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
        written = true;
        cleanStopIndex = -1; // the store holds the copy now
    }

    /**
     * An index whose state the store holds at least: the applied index, or, when this replica
     * stopped cleanly and its store has not been written since it started, the applied index at
     * that stop (a restart loads only its last checkpoint; without this an incremental rebuild
     * after a reboot would copy every region changed since that checkpoint, up to a checkpoint
     * interval's worth).
     */
    public long storeIndex(long applied) {
        long stop = cleanStopIndex;
        return !written && stop > applied ? stop : applied;
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
