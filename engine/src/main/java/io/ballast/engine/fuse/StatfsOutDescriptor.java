package io.ballast.engine.fuse;

/**
 * {@code struct fuse_statfs_out} ({@code struct fuse_kstatfs}): the reply body of STATFS.
 *
 * <pre>
 *   0       8       16      24      32      40  44  48  52  56                    80
 *   +-------+-------+-------+-------+-------+---+---+---+---+---------------------+
 *   |blocks | bfree |bavail | files | ffree |bsz|nml|frs|pad| spare[6]            |
 *   +-------+-------+-------+-------+-------+---+---+---+---+---------------------+
 *   u64 counts in bsz units (blocks, free, available to users) and inodes (files, free);
 *   u32 bsz = block size, nml = max name length, frs = fragment size.
 * </pre>
 */
final class StatfsOutDescriptor {
    private StatfsOutDescriptor() {
    }

    static final int LENGTH = 80;
    static final int BLOCKS_OFFSET = 0;
    static final int BFREE_OFFSET = 8;
    static final int BAVAIL_OFFSET = 16;
    static final int FILES_OFFSET = 24;
    static final int FFREE_OFFSET = 32;
    static final int BSIZE_OFFSET = 40;
    static final int NAMELEN_OFFSET = 44;
    static final int FRSIZE_OFFSET = 48;
}
