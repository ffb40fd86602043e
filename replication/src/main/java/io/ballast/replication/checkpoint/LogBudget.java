package io.ballast.replication.checkpoint;

import io.ballast.replication.entry.EntryDataJournal;
import io.ballast.replication.entry.VolumeEntryData;

/**
 * The disk space a volume replica's Raft log and entry journal may hold, and how it is kept:
 * {@code total} is the larger of the node's floor and a tenth of the volume (the bound the design
 * promises); a checkpoint is asked for after {@code checkpointEvery} bytes of entries, and each
 * one purges the log down to the entries still wanted by a lagging member, at most
 * {@code lagTail} bytes of them ({@link LogPurgePoints}). A member further behind is brought back
 * by an incremental rebuild ({@link io.ballast.replication.rebuild.RegionGenerations RegionGenerations}).
 *
 * <p>Granularity takes some of the rest: the log purges whole segments and writes into an open
 * one (two segments), and the journal keeps the data of every entry the log holds, so a segment
 * not yet purged also keeps up to {@link VolumeEntryData#REF_FRACTION} times its size of journal
 * data; the journal frees whole files and writes into one (three files). What is
 * left of the budget after those, its usable part, goes half to entries between checkpoints, a
 * quarter to the lag tail, and a quarter to headroom: a checkpoint is asked for through Ratis and
 * comes a moment later, while writes go on (IncrementalRebuildTest measures the peak with a
 * follower down). So {@code lagTail + checkpointEvery + headroom + (2 + REF_FRACTION) segments
 * + 3 journal files <= total}. With the defaults (8 MiB segments, 16 MiB journal files) and the
 * 256 MiB floor: a checkpoint every 64 MiB of entries, 32 MiB kept for a lagging member.
 */
public record LogBudget(long total, long checkpointEvery, long lagTail) {
    /** Below this a checkpoint per entry would be all the replica does. */
    static final long MIN_CHECKPOINT_EVERY = 1 << 20;

    static LogBudget of(long volumeSize, long floor, long segmentSize, long journalFileSize) {
        long total = Math.max(floor, volumeSize / 10);
        // A segment of journal references stands for up to REF_FRACTION times its size in data.
        long usable = Math.max(0, total - (2 + VolumeEntryData.REF_FRACTION) * segmentSize - 3 * journalFileSize);
        return new LogBudget(total, Math.max(MIN_CHECKPOINT_EVERY, usable / 2), usable / 4);
    }

    /**
     * The entry journal's file size for a node whose smallest budget is {@code floor}: a sixteenth of
     * it, at most 16 MiB, and at least what holds the largest record ({@code maxRecord}).
     */
    public static long journalFileSize(long floor, long maxRecord) {
        long aligned = (maxRecord + EntryDataJournal.ALIGN - 1) & -EntryDataJournal.ALIGN;
        return Math.max(aligned, Math.min(16L << 20, floor / 16));
    }
}
