package io.ballast.engine.attach;

/**
 * {@code struct loop_info64} ({@code include/uapi/linux/loop.h}): a loop device's status, read with
 * LOOP_GET_STATUS64 and embedded in {@code struct loop_config}. Host byte order.
 *
 * <pre>
 *   0       8       16      24      32      40  44  48  52  56            120           184       216     232
 *   +-------+-------+-------+-------+-------+---+---+---+---+-------------+-------------+---------+-------+
 *   |device | inode |rdevice|offset |szlimit|num|enc|eks|flg| file_name   | crypt_name  | key     | init  |
 *   +-------+-------+-------+-------+-------+---+---+---+---+-------------+-------------+---------+-------+
 *   u64 device/inode/rdevice of the backing file (read-only), offset and sizelimit (0 = to the
 *   end of the file) in bytes; u32 num = N of /dev/loopN, enc/eks obsolete, flg = LO_FLAGS_*;
 *   file_name = 64 bytes, 0-terminated (informational: shown by losetup).
 * </pre>
 */
final class LoopInfoDescriptor {
    private LoopInfoDescriptor() {
    }

    static final int LENGTH = 232;
    static final int DEVICE_OFFSET = 0;
    static final int INODE_OFFSET = 8;
    static final int OFFSET_OFFSET = 24;
    static final int SIZELIMIT_OFFSET = 32;
    static final int NUMBER_OFFSET = 40;
    static final int FLAGS_OFFSET = 52;
    static final int FILE_NAME_OFFSET = 56;
    static final int FILE_NAME_LENGTH = 64;
}
