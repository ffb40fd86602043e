package io.ballast.engine.fuse;

/**
 * {@code struct fuse_fallocate_in}: the body of FALLOCATE. The loop driver sends DISCARD as
 * {@code PUNCH_HOLE|KEEP_SIZE} and WRITE_ZEROES as {@code ZERO_RANGE|KEEP_SIZE} (or PUNCH_HOLE).
 *
 * <pre>
 *   0               8               16              24      28      32
 *   +---------------+---------------+---------------+-------+-------+
 *   |      fh       |    offset     |    length     | mode  |  pad  |
 *   +---------------+---------------+---------------+-------+-------+
 * </pre>
 */
final class FallocateInDescriptor {
    private FallocateInDescriptor() {
    }

    static final int LENGTH = 32;
    static final int FH_OFFSET = 0;
    static final int OFFSET_OFFSET = 8;
    static final int LENGTH_OFFSET = 16;
    static final int MODE_OFFSET = 24;
}
