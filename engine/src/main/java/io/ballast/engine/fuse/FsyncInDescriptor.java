package io.ballast.engine.fuse;

/**
 * {@code struct fuse_fsync_in}: the body of FSYNC (and FSYNCDIR).
 *
 * <pre>
 *   0               8       12      16
 *   +---------------+-------+-------+
 *   |      fh       |fsflags|  pad  |
 *   +---------------+-------+-------+
 *   fsflags bit 0 = FUSE_FSYNC_FDATASYNC (data only). Both kinds map onto the volume's flush.
 * </pre>
 */
final class FsyncInDescriptor {
    private FsyncInDescriptor() {
    }

    static final int LENGTH = 16;
    static final int FH_OFFSET = 0;
    static final int FSYNC_FLAGS_OFFSET = 8;
}
