package io.ballast.engine.fuse;

/**
 * {@code struct fuse_write_in}: the body of WRITE; the data follows it in the same request.
 *
 * <pre>
 *   0               8               16      20      24              32      36      40
 *   +---------------+---------------+-------+-------+---------------+-------+-------+=======+
 *   |      fh       |    offset     | size  |wflags |  lock_owner   | flags |  pad  | data  |
 *   +---------------+---------------+-------+-------+---------------+-------+-------+=======+
 *   size = data bytes (<= max_write); wflags = FUSE_WRITE_* (CACHE = from the page cache,
 *   LOCKOWNER, KILL_SUIDGID): none changes what we do. Data starts at header + 40.
 * </pre>
 */
final class WriteInDescriptor {
    private WriteInDescriptor() {
    }

    static final int LENGTH = 40;
    static final int FH_OFFSET = 0;
    static final int OFFSET_OFFSET = 8;
    static final int SIZE_OFFSET = 16;
    static final int WRITE_FLAGS_OFFSET = 20;
}
