package io.ballast.replication.entry;

import static io.ballast.replication.entry.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.ExtentSource;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.replication.entry.VolumeLogLayout.Op;

/**
 * The records of an OPS entry against a replica's store: the range check the leader makes before
 * appending ({@link #checkRange}) and the deterministic apply on every replica ({@link #apply}).
 * Stateless; thread-safe.
 */
public final class BlockOps {
    private BlockOps() {}

    /** OUT_OF_RANGE / INVALID_ARGUMENT / FAILED_PRECONDITION when {@code op} cannot apply to a volume of {@code size}. */
    public static void checkRange(Op op, long size) {
        if (op.type() == OP_RESIZE) {
            if (op.offset() <= 0 || op.offset() % LocalBlockStore.BLOCK_SIZE != 0 || op.offset() > LocalBlockStore.MAX_SIZE) {
                throw new BallastException(ErrorCode.OUT_OF_RANGE, "bad volume size " + op.offset());
            }
            if (op.offset() < size) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "shrinking " + size + " to " + op.offset() + " is refused");
            }
            return;
        }
        if (op.length() < 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "negative length " + op.length());
        }
        if (op.offset() < 0 || op.offset() > size || op.length() > size - op.offset()) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE,
                    "range [" + op.offset() + ", +" + op.length() + ") outside volume of " + size + " bytes");
        }
    }

    /** Applies one record; refusals the store makes before touching anything become statuses. */
    public static byte apply(LocalBlockStore s, Op op) {
        return apply(s, op, null);
    }

    /**
     * {@link #apply(LocalBlockStore, Op)}, where {@code from} (if not null) holds a WRITE's data
     * durably (the entry journal), for the store to share instead of writing again.
     */
    public static byte apply(LocalBlockStore s, Op op, ExtentSource from) {
        try {
            switch (op.type()) {
                // Over bad edges: a partial write into a block that rotted on this replica must still
                // apply (every replica alike); the block stays bad until a read or scrub repairs it.
                case OP_WRITE -> s.writeOverBadEdges(op.offset(), op.data(), from);
                case OP_TRIM -> s.trim(op.offset(), op.length());
                case OP_ZEROES -> s.writeZeroesOverBadEdges(op.offset(), op.length(), (op.flags() & FLAG_PUNCH) != 0);
                case OP_RESIZE -> {
                    if (op.offset() > s.size()) { // a replayed resize to a size already reached is a no-op
                        s.resize(op.offset());
                    } else if (op.offset() < s.size()) {
                        return ST_PRECONDITION;
                    }
                }
                default -> {
                    return ST_INVALID;
                }
            }
            return ST_OK;
        } catch (BallastException ex) {
            // Refusals the store makes before touching anything are the same on every replica.
            return switch (ex.code()) {
                case OUT_OF_RANGE -> ST_OUT_OF_RANGE;
                case INVALID_ARGUMENT -> ST_INVALID;
                case FAILED_PRECONDITION -> ST_PRECONDITION;
                default -> throw ex; // local disk trouble: not deterministic, stop this replica
            };
        }
    }
}
