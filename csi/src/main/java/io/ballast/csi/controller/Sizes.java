package io.ballast.csi.controller;

import io.ballast.csi.Topologies;
import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.cluster.ReplicaFootprint;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Volume size arithmetic for the Controller service: resolving a CSI {@code CapacityRange} to the
 * size Ballast provisions, and how large a volume the cluster can still place.
 *
 * <p>Sizes are whole mebibytes. A requested size is rounded <em>up</em> to the next MiB: a block
 * device whose size is not a multiple of the 4 KiB block is refused by the engine, the common units
 * people request (Mi, Gi) stay exact, and 1 MiB of slack is nothing next to a replica's overhead.
 * Rounding up can never give less than required_bytes; if it overshoots limit_bytes the request is
 * OUT_OF_RANGE (we would rather refuse than provision outside the range). Stateless, thread-safe.
 */
public final class Sizes {
    public static final long MIB = 1L << 20;
    public static final long GIB = 1L << 30;
    /** Size of a new volume when the request gives no capacity range and has no content source. */
    public static final long DEFAULT_BYTES = GIB;

    private Sizes() {
    }

    /**
     * The size to provision for {@code range} (null: absent): required_bytes rounded up to a MiB;
     * with only limit_bytes, {@code defaultBytes} capped to the limit rounded down to a MiB; with
     * neither, {@code defaultBytes} rounded up. INVALID_ARGUMENT for negative fields, OUT_OF_RANGE
     * when limit_bytes is below required_bytes or no whole MiB fits in the range.
     */
    public static long resolve(CapacityRange range, long defaultBytes) {
        long required = range == null ? 0 : range.getRequiredBytes();
        long limit = range == null ? 0 : range.getLimitBytes();
        check(required, limit);
        if (required > 0) {
            long size = roundUp(required);
            if (limit > 0 && size > limit) {
                throw new BallastException(ErrorCode.OUT_OF_RANGE, "required_bytes " + required + " rounds up to "
                        + size + " (sizes are whole MiB), above limit_bytes " + limit + "; widen the range");
            }
            return size;
        }
        long size = roundUp(defaultBytes);
        if (limit > 0) {
            size = Math.min(size, limit / MIB * MIB);
            if (size == 0) {
                throw new BallastException(ErrorCode.OUT_OF_RANGE,
                        "limit_bytes " + limit + " is below the smallest volume (1 MiB)");
            }
        }
        return size;
    }

    /** True when an existing volume of {@code sizeBytes} satisfies {@code range} (null: any size does). */
    public static boolean satisfies(long sizeBytes, CapacityRange range) {
        if (range == null) {
            return true;
        }
        return sizeBytes >= range.getRequiredBytes() && (range.getLimitBytes() == 0 || sizeBytes <= range.getLimitBytes());
    }

    /** INVALID_ARGUMENT for a negative field, OUT_OF_RANGE when limit_bytes is set and below required_bytes. */
    public static void check(long required, long limit) {
        if (required < 0 || limit < 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "capacity_range must not be negative (required_bytes "
                    + required + ", limit_bytes " + limit + ")");
        }
        if (limit > 0 && limit < required) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "capacity_range limit_bytes " + limit
                    + " is below required_bytes " + required);
        }
    }

    /** {@code bytes} rounded up to a whole MiB; OUT_OF_RANGE where that would overflow. */
    public static long roundUp(long bytes) {
        if (bytes > Long.MAX_VALUE - MIB) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "size " + bytes + " bytes is too large");
        }
        return (bytes + MIB - 1) / MIB * MIB;
    }

    /**
     * The largest volume (whole MiB) that fits on {@code replicas} distinct up nodes carrying
     * {@code labels}: every replica holds a full copy and its Raft log ({@link ReplicaFootprint}),
     * so it is what fits in the available space of the {@code replicas}-th roomiest matching node.
     * 0 when fewer nodes match.
     */
    public static long largestFit(List<NodeRecord> nodes, Map<String, String> labels, int replicas) {
        List<Long> free = nodes.stream().filter(NodeRecord::up).filter(n -> Topologies.matches(n, labels))
                .map(n -> Math.max(0, n.freeBytes())).sorted(Comparator.reverseOrder()).toList();
        return free.size() < replicas ? 0 : ReplicaFootprint.largestFitting(free.get(replicas - 1), MIB);
    }
}
