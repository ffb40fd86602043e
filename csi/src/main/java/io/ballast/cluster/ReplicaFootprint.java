package io.ballast.cluster;

/**
 * The disk space placement counts for one replica of a volume: its size (stores are thick in the
 * accounting, sparse on disk) plus its Raft log and entry journal, which a replica keeps within
 * max(256 MiB, 10% of the volume) whatever is written ({@code LogBudget} in replication: checkpoints
 * by bytes, purges capped in bytes even while a member is down). A node's full ratio refuses writes
 * before its disk runs out, and placement never promises the space above that ratio (see
 * {@link ClusterView}).
 */
public final class ReplicaFootprint {
    static final long MIN_LOG_RESERVE = io.ballast.replication.config.ReplicationConfig.LOG_BUDGET_MIN_DEFAULT;

    private ReplicaFootprint() {}

    /** Room for the Raft log and journal of a replica of a volume of {@code sizeBytes}. */
    public static long logReserve(long sizeBytes) {
        return Math.max(MIN_LOG_RESERVE, sizeBytes / 10);
    }

    /** Everything placement counts for one replica of a volume of {@code sizeBytes}. */
    public static long bytes(long sizeBytes) {
        return sizeBytes + logReserve(sizeBytes);
    }

    /** The largest volume size, in whole units of {@code unit}, whose replica fits in {@code availableBytes} (0: none). */
    public static long largestFitting(long availableBytes, long unit) {
        long lo = 0;
        long hi = Math.max(0, availableBytes) / unit;
        while (lo < hi) { // bytes() grows with the size: the largest size that fits
            long mid = lo + (hi - lo + 1) / 2;
            if (bytes(mid * unit) <= availableBytes) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo * unit;
    }
}
