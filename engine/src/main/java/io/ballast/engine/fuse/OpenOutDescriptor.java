package io.ballast.engine.fuse;

/**
 * {@code struct fuse_open_out}: the reply body of OPEN and OPENDIR.
 *
 * <pre>
 *   0               8       12      16
 *   +---------------+-------+-------+
 *   |      fh       |oflags |  pad  |
 *   +---------------+-------+-------+
 *   fh = our handle, echoed in READ/WRITE/FLUSH/FSYNC/RELEASE; oflags = FOPEN_* (page cache use).
 * </pre>
 */
final class OpenOutDescriptor {
    private OpenOutDescriptor() {
    }

    static final int LENGTH = 16;
    static final int FH_OFFSET = 0;
    static final int OPEN_FLAGS_OFFSET = 8;
}
