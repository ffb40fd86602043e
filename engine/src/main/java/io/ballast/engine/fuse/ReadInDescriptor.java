package io.ballast.engine.fuse;

/**
 * {@code struct fuse_read_in}: the body of READ and READDIR.
 *
 * <pre>
 *   0               8               16      20      24              32      36      40
 *   +---------------+---------------+-------+-------+---------------+-------+-------+
 *   |      fh       |    offset     | size  |rflags |  lock_owner   | flags |  pad  |
 *   +---------------+---------------+-------+-------+---------------+-------+-------+
 *   offset u64 (file offset, or the directory cookie for READDIR); size u32 = at most this many
 *   bytes in the reply (fewer = end of file); flags = the open file's flags.
 * </pre>
 */
final class ReadInDescriptor {
    private ReadInDescriptor() {
    }

    static final int LENGTH = 40;
    static final int FH_OFFSET = 0;
    static final int OFFSET_OFFSET = 8;
    static final int SIZE_OFFSET = 16;
}
