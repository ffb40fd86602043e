package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The common header check of the volume files: magic and version first (FOREIGN_FORMAT: not ours,
 * or a format this build does not know), then the CRC32C (CORRUPTION: ours, but damaged).
 */
final class Headers {
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 8;

    private Headers() {}

    /** An 8-character ASCII tag as a little-endian long, so the file shows the tag in a hex dump. */
    static long magic(String tag) {
        byte[] b = tag.getBytes(StandardCharsets.US_ASCII);
        if (b.length != 8) {
            throw new IllegalArgumentException(tag);
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static ByteBuffer newHeader(int size, long magic, int version) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(MAGIC_OFFSET, magic).putInt(VERSION_OFFSET, version);
    }

    static void seal(ByteBuffer header, int crcOffset) {
        header.putInt(crcOffset, Durable.crc32c(header, 0, crcOffset));
    }

    /** Checks magic, version and the CRC32C at {@code crcOffset} (covering [0, crcOffset)). */
    static ByteBuffer check(ByteBuffer raw, Path file, String kind, long magic, int version, int crcOffset) {
        ByteBuffer buf = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() < crcOffset + 4) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, file + " is " + buf.remaining()
                    + " bytes, too short for a Ballast " + kind + " header (" + (crcOffset + 4) + " bytes)");
        }
        long found = buf.getLong(MAGIC_OFFSET);
        if (found != magic) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, String.format(
                    "%s is not a Ballast %s: magic 0x%016x, expected 0x%016x", file, kind, found, magic));
        }
        int stored = buf.getInt(crcOffset);
        int actual = Durable.crc32c(buf, 0, crcOffset);
        if (stored != actual) {
            throw new BallastException(ErrorCode.CORRUPTION, String.format(
                    "%s header failed its checksum (stored 0x%08x, computed 0x%08x); the %s is damaged",
                    file, stored, actual, kind));
        }
        int foundVersion = buf.getInt(VERSION_OFFSET);
        if (foundVersion != version) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, file + " has " + kind + " format version "
                    + foundVersion + "; this Ballast understands only " + version);
        }
        return buf;
    }
}
