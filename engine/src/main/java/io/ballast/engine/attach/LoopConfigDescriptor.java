package io.ballast.engine.attach;

/**
 * {@code struct loop_config}: the argument of LOOP_CONFIGURE (Linux 5.8+), which binds a backing
 * file and sets status, block size and direct I/O in one atomic step.
 *
 * <pre>
 *   0       4       8                                       240                     304
 *   +-------+-------+---------------------------------------+-----------------------+
 *   |  fd   | bsize | loop_info64 (LoopInfoDescriptor, 232) | reserved, 0 (8 x u64) |
 *   +-------+-------+---------------------------------------+-----------------------+
 *   fd = an open descriptor of the backing file (the kernel takes its own reference);
 *   bsize = logical block size (512..4096, power of two; 0 = 512).
 * </pre>
 */
final class LoopConfigDescriptor {
    private LoopConfigDescriptor() {
    }

    static final int LENGTH = 304;
    static final int FD_OFFSET = 0;
    static final int BLOCK_SIZE_OFFSET = 4;
    static final int INFO_OFFSET = 8;
}
