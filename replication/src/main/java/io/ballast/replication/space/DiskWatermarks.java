package io.ballast.replication.space;

/**
 * How full a node's data disk may get, as fractions of its size (Ceph's {@code nearfull_ratio}
 * and {@code full_ratio}, same defaults). Above {@code nearfull} the node warns; above
 * {@code full} the volumes whose leader is on it, or whose majority of replicas is on full nodes,
 * refuse new writes (ENOSPC at the client), so the Raft log and the stores never run out of space
 * under an acknowledged write.
 */
public record DiskWatermarks(double nearfull, double full) {
    public static final DiskWatermarks DEFAULT = new DiskWatermarks(0.85, 0.95);

    public DiskWatermarks {
        if (!(nearfull > 0 && nearfull <= full && full < 1)) {
            throw new IllegalArgumentException("disk watermarks need 0 < nearfull <= full < 1, got nearfull "
                    + nearfull + " and full " + full);
        }
    }

    /** The level a disk with {@code usedRatio} of its space taken is at. */
    public DiskLevel level(double usedRatio) {
        return usedRatio >= full ? DiskLevel.FULL : usedRatio >= nearfull ? DiskLevel.NEARFULL : DiskLevel.NORMAL;
    }
}
