package io.ballast.cluster;

/**
 * The disk space placement counts for one replica of a volume: its size (stores are thick in the
 * accounting, sparse on disk) plus room for its Raft log and entry journal, which hold the entries
 * written since the last checkpoint. A checkpoint comes after at most 1 GiB of entries
 * ({@code ReplicationConfig.snapshotEveryBytes}), so the reserve is the volume's size, at least
 * {@link #MIN_LOG_RESERVE} and at most {@link #MAX_LOG_RESERVE}: what a volume written over once
 * between two checkpoints keeps. The rarer peak (the 1,024 entries Ratis keeps behind each
 * checkpoint, up to 4 MiB each, on top) is not reserved: a node's full ratio refuses writes before
 * its disk runs out, and placement never promises the space above that ratio (see
 * {@link ClusterView}).
 */
public final class ReplicaFootprint {
    static final long MIN_LOG_RESERVE = 256L << 20;
    static final long MAX_LOG_RESERVE = 1L << 30;

    private ReplicaFootprint() {}

    /** Room for the Raft log and journal of a replica of a volume of {@code sizeBytes}. */
    public static long logReserve(long sizeBytes) {
        return Math.min(MAX_LOG_RESERVE, Math.max(MIN_LOG_RESERVE, sizeBytes));
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
