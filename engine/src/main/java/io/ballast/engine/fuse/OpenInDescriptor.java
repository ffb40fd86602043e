package io.ballast.engine.fuse;

/**
 * {@code struct fuse_open_in}: the body of OPEN and OPENDIR.
 *
 * <pre>
 *   0       4       8
 *   +-------+-------+
 *   | flags |oflags |
 *   +-------+-------+
 *   flags = open(2) flags (O_ACCMODE, O_DIRECT, ...); oflags = FUSE_OPEN_* (7.38+; 0 before).
 * </pre>
 */
final class OpenInDescriptor {
    private OpenInDescriptor() {
    }

    static final int LENGTH = 8;
    static final int FLAGS_OFFSET = 0;
}
