package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A volume's metadata file ({@value #FILE_NAME}): its durable size, dirty-region granularity and
 * clean-shutdown flag. Small and rarely written (create, open, resize, close), always replaced
 * atomically (write temp, fsync, rename, fsync directory), so it is either old or new after a crash.
 * All integers little-endian.
 *
 * <pre>
 *  0                   8         12        16                  24        28        32
 *  +-------------------+---------+---------+-------------------+---------+---------+
 *  | magic "BLSTVOLM"  | version | block sz| size in bytes     | region  | flags   |
 *  | 8 bytes           | u32 = 1 | u32=4096| i64               | shift   | u32     |
 *  +-------------------+---------+---------+-------------------+---------+---------+
 *  32                  40        44
 *  +-------------------+---------+
 *  | created (ms epoch)| crc32c  |   crc32c covers [0, 40)
 *  | i64               | u32     |   flags bit 0: CLEAN_SHUTDOWN
 *  +-------------------+---------+
 * </pre>
 */
public final class VolumeMetadataLayout {
    public static final String FILE_NAME = "volume.meta";
    public static final long MAGIC = Headers.magic("BLSTVOLM");
    public static final int FORMAT_VERSION = 1;

    public static final int BLOCK_SIZE_OFFSET = 12;
    public static final int SIZE_OFFSET = 16;
    public static final int REGION_SHIFT_OFFSET = 24;
    public static final int FLAGS_OFFSET = 28;
    public static final int CREATED_OFFSET = 32;
    public static final int CRC_OFFSET = 40;
    public static final int LENGTH = 44;

    public static final int FLAG_CLEAN_SHUTDOWN = 1;

    private VolumeMetadataLayout() {}

    /** The decoded record. */
    record Metadata(long sizeBytes, int regionShift, boolean cleanShutdown, long createdMillis) {
        Metadata withClean(boolean clean) {
            return new Metadata(sizeBytes, regionShift, clean, createdMillis);
        }

        Metadata withSize(long newSize) {
            return new Metadata(newSize, regionShift, cleanShutdown, createdMillis);
        }
    }

    static ByteBuffer encode(Metadata m) {
        ByteBuffer buf = Headers.newHeader(LENGTH, MAGIC, FORMAT_VERSION)
                .putInt(BLOCK_SIZE_OFFSET, LocalBlockStore.BLOCK_SIZE)
                .putLong(SIZE_OFFSET, m.sizeBytes())
                .putInt(REGION_SHIFT_OFFSET, m.regionShift())
                .putInt(FLAGS_OFFSET, m.cleanShutdown() ? FLAG_CLEAN_SHUTDOWN : 0)
                .putLong(CREATED_OFFSET, m.createdMillis());
        Headers.seal(buf, CRC_OFFSET);
        return buf;
    }

    static Metadata decode(ByteBuffer raw, Path file) {
        ByteBuffer buf = Headers.check(raw, file, "volume metadata", MAGIC, FORMAT_VERSION, CRC_OFFSET);
        int blockSize = buf.getInt(BLOCK_SIZE_OFFSET);
        long size = buf.getLong(SIZE_OFFSET);
        int shift = buf.getInt(REGION_SHIFT_OFFSET);
        if (blockSize != LocalBlockStore.BLOCK_SIZE || size <= 0 || size % blockSize != 0
                || shift < DirtyBitmapLayout.MIN_REGION_SHIFT || shift > DirtyBitmapLayout.MAX_REGION_SHIFT) {
            throw new BallastException(ErrorCode.CORRUPTION, file + " holds impossible values (block size "
                    + blockSize + ", size " + size + ", region shift " + shift + ") under a valid checksum");
        }
        return new Metadata(size, shift, (buf.getInt(FLAGS_OFFSET) & FLAG_CLEAN_SHUTDOWN) != 0,
                buf.getLong(CREATED_OFFSET));
    }
}
