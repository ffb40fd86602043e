package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The per-block checksum file ({@value #FILE_NAME}): a one-page header, then one 4-byte slot per
 * 4 KiB data block, memory-mapped by {@link ChecksumTable}. All integers little-endian.
 *
 * <pre>
 *  0                   8         12        16        20        24               4096
 *  +-------------------+---------+---------+---------+---------+-- zero --------+
 *  | magic "BLSTCSUM"  | version | block sz| slot sz | crc32c  |  padding       |
 *  | 8 bytes           | u32 = 1 | u32=4096| u32 = 4 | [0,20)  |                |
 *  +-------------------+---------+---------+---------+---------+----------------+
 *  4096       4100       4104                 4096 + 4*i
 *  +----------+----------+------ ... ---------+----------+------ ...
 *  | slot 0   | slot 1   |                    | slot i   |
 *  +----------+----------+------ ... ---------+----------+------ ...
 *  slot i = crc32c(data block i) XOR crc32c(4096 zero bytes)
 * </pre>
 *
 * <p>The XOR makes an all-zero slot mean "the block reads as zeroes": a fresh (sparse) checksum
 * file needs no initialisation, and TRIM or a punched hole only has to zero the slot. The file may
 * be longer than the volume needs (after a crash during resize); slots beyond the size are ignored.
 */
public final class ChecksumFileLayout {
    public static final String FILE_NAME = "checksums";
    public static final long MAGIC = Headers.magic("BLSTCSUM");
    public static final int FORMAT_VERSION = 1;

    public static final int BLOCK_SIZE_OFFSET = 12;
    public static final int SLOT_SIZE_OFFSET = 16;
    public static final int CRC_OFFSET = 20;
    public static final int HEADER_LENGTH = 4096;
    public static final int SLOT_SIZE = 4;

    /** CRC32C of one all-zero block; XORed into every slot. */
    public static final int ZERO_BLOCK_CRC;

    static {
        CRC32C crc = new CRC32C();
        crc.update(new byte[LocalBlockStore.BLOCK_SIZE]);
        ZERO_BLOCK_CRC = (int) crc.getValue();
    }

    private ChecksumFileLayout() {}

    /** File offset of block {@code block}'s slot. */
    public static long slotOffset(long block) {
        return HEADER_LENGTH + block * SLOT_SIZE;
    }

    /** The slot value for a block with the given CRC32C. */
    public static int slotOf(int blockCrc) {
        return blockCrc ^ ZERO_BLOCK_CRC;
    }

    /** CRC32C of one block: {@code block}'s remaining bytes (exactly one block); position untouched. */
    static int slotOf(ByteBuffer block) {
        CRC32C crc = new CRC32C();
        crc.update(block.duplicate());
        return slotOf((int) crc.getValue());
    }

    static ByteBuffer encodeHeader() {
        ByteBuffer buf = Headers.newHeader(HEADER_LENGTH, MAGIC, FORMAT_VERSION)
                .putInt(BLOCK_SIZE_OFFSET, LocalBlockStore.BLOCK_SIZE)
                .putInt(SLOT_SIZE_OFFSET, SLOT_SIZE);
        Headers.seal(buf, CRC_OFFSET);
        return buf;
    }

    static void checkHeader(ByteBuffer raw, Path file) {
        ByteBuffer buf = Headers.check(raw, file, "checksum file", MAGIC, FORMAT_VERSION, CRC_OFFSET);
        if (buf.getInt(BLOCK_SIZE_OFFSET) != LocalBlockStore.BLOCK_SIZE || buf.getInt(SLOT_SIZE_OFFSET) != SLOT_SIZE) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT,
                    file + " uses block size " + buf.getInt(BLOCK_SIZE_OFFSET) + " and slot size "
                            + buf.getInt(SLOT_SIZE_OFFSET) + "; this Ballast uses 4096 and 4");
        }
    }
}
