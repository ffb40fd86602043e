package io.ballast.engine.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_attr}: an inode's attributes, embedded in entry and attr replies.
 *
 * <pre>
 *   0       8       16      24      32      40      48  52  56  60  64  68  72  76  80  84  88
 *   +-------+-------+-------+-------+-------+-------+---+---+---+---+---+---+---+---+---+---+
 *   |  ino  | size  |blocks | atime | mtime | ctime |an |mn |cn |mod|nlk|uid|gid|rdv|bsz|flg|
 *   +-------+-------+-------+-------+-------+-------+---+---+---+---+---+---+---+---+---+---+
 *   u64: ino, size (bytes), blocks (512-byte units), a/m/ctime (seconds);
 *   u32: a/m/ctime nanoseconds, mode (S_IF* | permissions), nlink, uid, gid, rdev,
 *   blksize (st_blksize), flags (FUSE_ATTR_*; 0).
 * </pre>
 */
final class AttrDescriptor {
    private AttrDescriptor() {
    }

    static final int LENGTH = 88;
    static final int INO_OFFSET = 0;
    static final int SIZE_OFFSET = 8;
    static final int BLOCKS_OFFSET = 16;
    static final int ATIME_OFFSET = 24;
    static final int MTIME_OFFSET = 32;
    static final int CTIME_OFFSET = 40;
    static final int ATIMENSEC_OFFSET = 48;
    static final int MTIMENSEC_OFFSET = 52;
    static final int CTIMENSEC_OFFSET = 56;
    static final int MODE_OFFSET = 60;
    static final int NLINK_OFFSET = 64;
    static final int UID_OFFSET = 68;
    static final int GID_OFFSET = 72;
    static final int RDEV_OFFSET = 76;
    static final int BLKSIZE_OFFSET = 80;
    static final int FLAGS_OFFSET = 84;

    /** Writes {@code a} at {@code base}. */
    static void put(ByteBuffer b, int base, FileAttr a) {
        b.putLong(base + INO_OFFSET, a.ino());
        b.putLong(base + SIZE_OFFSET, a.size());
        b.putLong(base + BLOCKS_OFFSET, (a.size() + 511) / 512);
        b.putLong(base + ATIME_OFFSET, a.timeSeconds());
        b.putLong(base + MTIME_OFFSET, a.timeSeconds());
        b.putLong(base + CTIME_OFFSET, a.timeSeconds());
        b.putInt(base + ATIMENSEC_OFFSET, a.timeNanos());
        b.putInt(base + MTIMENSEC_OFFSET, a.timeNanos());
        b.putInt(base + CTIMENSEC_OFFSET, a.timeNanos());
        b.putInt(base + MODE_OFFSET, a.mode());
        b.putInt(base + NLINK_OFFSET, a.nlink());
        b.putInt(base + UID_OFFSET, a.uid());
        b.putInt(base + GID_OFFSET, a.gid());
        b.putInt(base + RDEV_OFFSET, 0);
        b.putInt(base + BLKSIZE_OFFSET, a.blksize());
        b.putInt(base + FLAGS_OFFSET, 0);
    }
}
