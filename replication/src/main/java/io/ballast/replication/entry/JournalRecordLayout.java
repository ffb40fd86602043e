package io.ballast.replication.entry;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The format of one record of the entry journal ({@link EntryDataJournal}): the data of one Raft
 * log entry. Big-endian, padded with zeroes to a multiple of {@value #ALIGN} bytes (O_DIRECT's
 * alignment).
 *
 * <pre>
 *  0        4        8                  16                 24                 32       36
 *  +--------+--------+------------------+------------------+------------------+--------+----------+---------+
 *  | magic  | length | file generation  | log index        | log term         | crc32c | data     | zeroes  |
 *  | "BALJ" | u32    | i64              | i64              | i64              | u32    | length B | to 4 KiB|
 *  +--------+--------+------------------+------------------+------------------+--------+----------+---------+
 * </pre>
 *
 * The CRC32C covers the 32 header bytes before it and the data. A record is identified by (index,
 * term): by Raft's log matching property two entries with the same pair are the same entry. The
 * generation tells a record of the file's current use from a stale one left before the file was
 * recycled.
 */
public final class JournalRecordLayout {
    public static final int MAGIC = 0x42414C4A; // "BALJ"
    public static final int HEADER = 36;
    public static final int ALIGN = 4096;
    private static final int LENGTH_AT = 4;
    private static final int GENERATION_AT = 8;
    private static final int INDEX_AT = 16;
    private static final int TERM_AT = 24;
    private static final int CRC_AT = 32;

    /** A record's header fields. */
    public record Header(int length, long generation, long index, long term) {
    }

    private JournalRecordLayout() {
    }

    /** A record's size on disk: header and data, padded to the alignment. */
    public static long padded(int length) {
        return (HEADER + (long) length + ALIGN - 1) & -ALIGN;
    }

    /**
     * Fills {@code record} (positioned at 0, with room for {@link #padded}) with the header, the
     * data and the padding, and seals the CRC; flipped, ready to write.
     */
    public static void write(ByteBuffer record, long generation, long index, long term, ByteBuffer data) {
        int length = data.remaining();
        record.putInt(MAGIC).putInt(length).putLong(generation).putLong(index).putLong(term).putInt(0);
        record.put(data);
        while (record.hasRemaining()) {
            record.put((byte) 0);
        }
        record.flip();
        record.putInt(CRC_AT, crc(record, record.duplicate().position(HEADER).limit(HEADER + length)));
    }

    /** The header in {@code h} (its first {@link #HEADER} bytes), or null when it does not start a record. */
    public static Header header(ByteBuffer h) {
        if (h.getInt(0) != MAGIC) {
            return null;
        }
        return new Header(h.getInt(LENGTH_AT), h.getLong(GENERATION_AT), h.getLong(INDEX_AT), h.getLong(TERM_AT));
    }

    /** Whether header {@code h} and {@code data} form an intact record of (generation, index, term). */
    public static boolean intact(ByteBuffer h, ByteBuffer data, long generation, long index, long term) {
        Header read = header(h);
        return read != null && read.generation() == generation && read.index() == index && read.term() == term
                && crc(h, data.duplicate()) == h.getInt(CRC_AT);
    }

    private static int crc(ByteBuffer header, ByteBuffer data) {
        CRC32C c = new CRC32C();
        c.update(header.duplicate().position(0).limit(CRC_AT));
        c.update(data);
        return (int) c.getValue();
    }
}
