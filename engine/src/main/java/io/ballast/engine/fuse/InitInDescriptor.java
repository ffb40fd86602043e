package io.ballast.engine.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_init_in}: the body of FUSE_INIT, the first request on a new connection.
 *
 * <pre>
 *   0       4       8       12      16      20                                    64
 *   +-------+-------+-------+-------+-------+-------------------------------------+
 *   | major | minor |max_ra | flags |flags2 | unused[11]                          |
 *   +-------+-------+-------+-------+-------+-------------------------------------+
 *   max_ra = the kernel's readahead limit in bytes; flags = FUSE_* capabilities the kernel
 *   offers; flags2 = the upper 32 bits of those, valid only with FUSE_INIT_EXT in flags.
 *   Kernels before 7.36 send only the first 16 bytes.
 * </pre>
 */
final class InitInDescriptor {
    private InitInDescriptor() {
    }

    static final int LENGTH = 64;
    static final int COMPAT_LENGTH = 16;
    static final int MAJOR_OFFSET = 0;
    static final int MINOR_OFFSET = 4;
    static final int MAX_READAHEAD_OFFSET = 8;
    static final int FLAGS_OFFSET = 12;
    static final int FLAGS2_OFFSET = 16;
}
