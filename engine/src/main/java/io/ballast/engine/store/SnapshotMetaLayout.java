package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A local snapshot's record ({@value #FILE_NAME}), written twice, each time atomically (temp file,
 * fsync, rename, directory fsync): first without the COMPLETE flag before any file is copied (so a
 * crash mid-copy leaves a snapshot that says which point it was meant to hold), then with it once
 * every copied file is fsynced. Only a snapshot whose record has COMPLETE is ever served. All
 * integers little-endian.
 *
 * <pre>
 *  0                   8         12        16                  24                  32
 *  +-------------------+---------+---------+-------------------+-------------------+
 *  | magic "BLSTSNAP"  | version | flags   | size in bytes     | tag               |
 *  | 8 bytes           | u32 = 1 | u32     | i64               | i64 (caller's)    |
 *  +-------------------+---------+---------+-------------------+-------------------+
 *  32                  40        44
 *  +-------------------+---------+
 *  | created (ms epoch)| crc32c  |   crc32c covers [0, 40); flags bit 0: COMPLETE
 *  +-------------------+---------+
 * </pre>
 *
 * The tag is opaque to the engine; replication stores the log index the snapshot stands for.
 */
public final class SnapshotMetaLayout {
    public static final String FILE_NAME = "snapshot.meta";
    public static final long MAGIC = Headers.magic("BLSTSNAP");
    public static final int FORMAT_VERSION = 1;

    public static final int FLAGS_OFFSET = 12;
    public static final int SIZE_OFFSET = 16;
    public static final int TAG_OFFSET = 24;
    public static final int CREATED_OFFSET = 32;
    public static final int CRC_OFFSET = 40;
    public static final int LENGTH = 44;
    public static final int FLAG_COMPLETE = 1;

    private SnapshotMetaLayout() {}

    /** The decoded record. */
    record Meta(long sizeBytes, long tag, long createdMillis, boolean complete) {
        Meta completed() {
            return new Meta(sizeBytes, tag, createdMillis, true);
        }
    }

    static ByteBuffer encode(Meta m) {
        ByteBuffer buf = Headers.newHeader(LENGTH, MAGIC, FORMAT_VERSION)
                .putInt(FLAGS_OFFSET, m.complete() ? FLAG_COMPLETE : 0)
                .putLong(SIZE_OFFSET, m.sizeBytes())
                .putLong(TAG_OFFSET, m.tag())
                .putLong(CREATED_OFFSET, m.createdMillis());
        Headers.seal(buf, CRC_OFFSET);
        return buf;
    }

    static Meta decode(ByteBuffer raw, Path file) {
        ByteBuffer buf = Headers.check(raw, file, "snapshot record", MAGIC, FORMAT_VERSION, CRC_OFFSET);
        long size = buf.getLong(SIZE_OFFSET);
        if (size <= 0 || size % LocalBlockStore.BLOCK_SIZE != 0) {
            throw new BallastException(ErrorCode.CORRUPTION, file + " holds an impossible size " + size
                    + " under a valid checksum");
        }
        return new Meta(size, buf.getLong(TAG_OFFSET), buf.getLong(CREATED_OFFSET),
                (buf.getInt(FLAGS_OFFSET) & FLAG_COMPLETE) != 0);
    }
}
