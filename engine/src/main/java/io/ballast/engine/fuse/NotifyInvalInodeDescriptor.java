package io.ballast.engine.fuse;

/**
 * {@code struct fuse_notify_inval_inode_out}: the body of a FUSE_NOTIFY_INVAL_INODE
 * notification (us -> kernel, out header with unique 0 and error = NOTIFY_INVAL_INODE).
 *
 * <pre>
 *   0               8               16              24
 *   +---------------+---------------+---------------+
 *   |      ino      |      off      |      len      |
 *   +---------------+---------------+---------------+
 *   The kernel drops the inode's cached attributes; with off >= 0 it also drops cached pages
 *   of [off, off + len) (len <= 0: to the end). We send off = -1: attributes only, so a grown
 *   size is seen by the next stat without throwing away cached data.
 * </pre>
 */
final class NotifyInvalInodeDescriptor {
    private NotifyInvalInodeDescriptor() {
    }

    static final int LENGTH = 24;
    static final int INO_OFFSET = 0;
    static final int OFF_OFFSET = 8;
    static final int LEN_OFFSET = 16;
}
