package io.ballast.engine.fuse;

/**
 * {@code struct fuse_init_out}: our answer to FUSE_INIT, which fixes the connection's limits.
 *
 * <pre>
 *   0       4       8       12      16  18  20      24      28  30  32      36                64
 *   +-------+-------+-------+-------+---+---+-------+-------+---+---+-------+-----------------+
 *   | major | minor |max_ra | flags |bg |cng|max_wr |t_gran |pgs|aln|flags2 | unused[7]       |
 *   +-------+-------+-------+-------+---+---+-------+-------+---+---+-------+-----------------+
 *   bg = max_background (u16): background (async) requests the kernel keeps in flight;
 *   cng = congestion_threshold (u16); max_wr = max_write bytes per WRITE; t_gran = timestamp
 *   granularity in ns; pgs = max_pages (u16) per request, honoured with FUSE_MAX_PAGES;
 *   aln = map_alignment (DAX only, 0).
 * </pre>
 */
final class InitOutDescriptor {
    private InitOutDescriptor() {
    }

    static final int LENGTH = 64;
    static final int MAJOR_OFFSET = 0;
    static final int MINOR_OFFSET = 4;
    static final int MAX_READAHEAD_OFFSET = 8;
    static final int FLAGS_OFFSET = 12;
    static final int MAX_BACKGROUND_OFFSET = 16;
    static final int CONGESTION_THRESHOLD_OFFSET = 18;
    static final int MAX_WRITE_OFFSET = 20;
    static final int TIME_GRAN_OFFSET = 24;
    static final int MAX_PAGES_OFFSET = 28;
    static final int MAP_ALIGNMENT_OFFSET = 30;
    static final int FLAGS2_OFFSET = 32;
}
