package io.ballast.engine.fuse;

/**
 * {@code struct fuse_write_out}: the reply body of WRITE.
 *
 * <pre>
 *   0       4       8
 *   +-------+-------+
 *   | size  |  pad  |
 *   +-------+-------+
 *   size = bytes written; always the whole request here (a short count would make the kernel
 *   report a short write, which the loop driver turns into an I/O error).
 * </pre>
 */
final class WriteOutDescriptor {
    private WriteOutDescriptor() {
    }

    static final int LENGTH = 8;
    static final int SIZE_OFFSET = 0;
}
