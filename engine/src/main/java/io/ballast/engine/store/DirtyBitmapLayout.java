package io.ballast.engine.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The dirty-region bitmap ({@value #FILE_NAME}), Ballast's form of Linux md's write-intent bitmap.
 * All integers little-endian.
 *
 * <pre>
 *  0                   8         12        16        20                           4096
 *  +-------------------+---------+---------+---------+-- zero --------------------+
 *  | magic "BLSTDIRT"  | version | region  | crc32c  |  padding                   |
 *  | 8 bytes           | u32 = 1 | shift   | [0,16)  |                            |
 *  +-------------------+---------+---------+---------+----------------------------+
 *  4096            4104            4096 + 8*w
 *  +---------------+---------------+---- ... ----+
 *  | word 0 (u64)  | word 1 (u64)  |             |   region r is dirty when bit (r % 64)
 *  | regions 0..63 | regions 64..  |             |   of word (r / 64) is set
 *  +---------------+---------------+---- ... ----+
 * </pre>
 * A region is {@code 1 << regionShift} bytes of the volume (default 64 MiB). Words beyond the end
 * of the file read as zero (the file grows lazily).
 *
 * <p><b>Why it exists.</b> Writes are not fsynced one by one: the data file and the mapped checksum
 * file reach the disk independently, so after a crash a block written since the last checkpoint
 * can hold new data under its old checksum (or the reverse). Before the first write into a clean
 * region its bit is set and the bitmap fsynced (rare: once per region per idle period). A FLUSH
 * syncs only the data file; checksums are synced by periodic checkpoints
 * ({@code LocalBlockStore#checkpoint}, {@code #retireIdleRegions}), and bits are cleared lazily, without fsync, by a checkpoint
 * after the one that made the region's writes and checksums durable, once the region stayed idle
 * in between. On open after an unclean shutdown every block of a dirty region whose checksum does
 * not match adopts the checksum of the data found on disk: flushed data whose checksum had not
 * been synced yet reads back, and unflushed data reads back old or new, as on a disk.
 *
 * <p><b>Trade-off.</b> Inside a dirty region we cannot tell a torn unflushed write from bit rot,
 * so after a crash a genuine corruption there is adopted as data instead of reported. That is
 * acceptable because the region held unflushed writes, whose content a disk may return old, new or
 * (for a write in flight at power loss) mixed, and replication replays the log after the last
 * checkpoint over exactly those blocks. Outside dirty regions every mismatch stays CORRUPTION.
 * Larger regions mean fewer bitmap fsyncs but more blocks scanned (and trusted) after a crash.
 */
public final class DirtyBitmapLayout {
    public static final String FILE_NAME = "dirty.bitmap";
    public static final long MAGIC = Headers.magic("BLSTDIRT");
    public static final int FORMAT_VERSION = 1;

    public static final int REGION_SHIFT_OFFSET = 12;
    public static final int CRC_OFFSET = 16;
    public static final int HEADER_LENGTH = 4096;
    /** 64 MiB regions. */
    public static final int DEFAULT_REGION_SHIFT = 26;
    /** One block per region at the finest. */
    public static final int MIN_REGION_SHIFT = 12;
    public static final int MAX_REGION_SHIFT = 40;

    private DirtyBitmapLayout() {}

    /** File offset of the 64-bit word holding region {@code region}'s bit. */
    public static long wordOffset(long region) {
        return HEADER_LENGTH + (region >>> 6) * Long.BYTES;
    }

    /** Number of regions covering {@code sizeBytes}. */
    public static long regions(long sizeBytes, int regionShift) {
        return (sizeBytes + (1L << regionShift) - 1) >>> regionShift;
    }

    static ByteBuffer encodeHeader(int regionShift) {
        ByteBuffer buf = Headers.newHeader(HEADER_LENGTH, MAGIC, FORMAT_VERSION)
                .putInt(REGION_SHIFT_OFFSET, regionShift);
        Headers.seal(buf, CRC_OFFSET);
        return buf;
    }

    /** Checks the header and returns its region shift. */
    static int checkHeader(ByteBuffer raw, Path file) {
        return Headers.check(raw, file, "dirty-region bitmap", MAGIC, FORMAT_VERSION, CRC_OFFSET)
                .getInt(REGION_SHIFT_OFFSET);
    }
}
