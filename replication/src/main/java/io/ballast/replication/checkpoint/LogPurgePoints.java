package io.ballast.replication.checkpoint;

/**
 * Where to purge a replica's Raft log so that at most a given number of bytes of applied entries
 * stay behind a checkpoint ({@link LogBudget#lagTail}). Ratis purges only to the lowest index a
 * member has committed, so a member that is down holds the log back without bound; purging here
 * caps that, in bytes (Ratis's own preservation counts entries, whatever their size).
 *
 * <p>Keeps (index, bytes applied before it) points, one per {@link #STEP} bytes at most, so memory
 * stays small whatever the entry size. Entries applied before this process started are unknown:
 * they may all be purged. Apply thread only (Ratis takes checkpoints on it too).
 */
public final class LogPurgePoints {
    static final long STEP = 64 << 10;
    private long[] index = new long[64];
    private long[] before = new long[64];
    private int first;
    private int count;
    private long applied;
    private long lastIndex = -1;

    /** Entry {@code i} of {@code bytes} bytes (in the log and journal) was applied. */
    void applied(long i, long bytes) {
        if (count == 0 || applied - before[slot(count - 1)] >= STEP) {
            add(i, applied);
        }
        applied += bytes;
        lastIndex = i;
    }

    /**
     * The index to purge up to, given a checkpoint at {@code upTo} (the last applied entry), so that
     * the entries kept after it hold at most {@code keepBytes}: purging below a point keeps the bytes
     * applied since the point. -1 when unknown ({@code upTo} is not the last applied entry). Forgets
     * the points below the answer.
     */
    long purgeIndex(long upTo, long keepBytes) {
        if (count == 0 || upTo != lastIndex) {
            return -1;
        }
        long limit = applied - keepBytes;
        while (count > 0 && before[first] < limit) {
            first = (first + 1) % index.length;
            count--;
        }
        return count == 0 ? upTo : index[first] - 1;
    }

    private void add(long i, long appliedBefore) {
        if (count == index.length) {
            long[] ni = new long[index.length * 2];
            long[] nb = new long[index.length * 2];
            for (int k = 0; k < count; k++) {
                ni[k] = index[slot(k)];
                nb[k] = before[slot(k)];
            }
            index = ni;
            before = nb;
            first = 0;
        }
        index[slot(count)] = i;
        before[slot(count)] = appliedBefore;
        count++;
    }

    private int slot(int k) {
        return (first + k) % index.length;
    }
}
