package io.ballast.replication.entry;

import io.ballast.replication.entry.VolumeLogLayout.Payload;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The format of one record of the entry journal ({@link EntryDataJournal}): the data of one Raft
 * log entry. Big-endian; records start and end on {@value #ALIGN}-byte boundaries (O_DIRECT's
 * alignment), zero-filled between their parts.
 *
 * <p><b>Placed records</b> (magic "BALK", written since the store shares journal extents): the
 * data of each large WRITE record of the entry lies at a place of its own, at a file offset that
 * equals its volume offset modulo 4 KiB, so that its whole blocks line up with the store's and the
 * store can take them by reference ({@code FICLONERANGE}) instead of writing them again. The rest
 * of the entry (its framing and any small writes: the "skeleton") follows the header.
 *
 * <pre>
 *  0       4        8            16       24      32      36            40      44
 *  +-------+--------+------------+--------+-------+-------+-------------+-------+--------------------+
 *  | magic | length | generation | index  | term  | crc32c| record size | count | count places       |
 *  | BALK  | u32    | i64        | i64    | i64   | u32   | u32         | u32   | (16 bytes each)    |
 *  +-------+--------+------------+--------+-------+-------+-------------+-------+--------------------+
 *  | skeleton: the entry's bytes outside the placed data, in order | zeroes | placed data ... | zeroes |
 *  +---------------------------------------------------------------+--------+-----------------+--------+
 *  place: position in the entry (u32), length (u32), position in the record (u32), which WRITE
 *  record of the entry it is, counting those with data from 0 (u32).
 * </pre>
 *
 * <p><b>Contiguous records</b> (magic "BALJ", written before; still read): header (the first 36
 * bytes above), then the entry's bytes, then zeroes to the boundary.
 *
 * <p>The CRC32C covers the header's first 32 bytes, then everything of the record but the zeroes
 * and the CRC itself, in order. A record is identified by (index, term): by Raft's log matching
 * property two entries with the same pair are the same entry. The generation tells a record of the
 * file's current use from a stale one left before the file was recycled.
 */
public final class JournalRecordLayout {
    public static final int MAGIC_CONTIGUOUS = 0x42414C4A; // "BALJ"
    public static final int MAGIC_PLACED = 0x42414C4B; // "BALK"
    /** The bytes of the header every record starts with (and {@link #header} reads). */
    public static final int HEADER = 44;
    private static final int CONTIGUOUS_HEADER = 36;
    private static final int PLACE = 16;
    public static final int ALIGN = 4096;
    /** WRITE data of at least this many bytes is placed; smaller stays in the skeleton (see {@link #maxRecordBytes}). */
    static final int MIN_PLACED = 64 << 10;
    private static final int LENGTH_AT = 4;
    private static final int GENERATION_AT = 8;
    private static final int INDEX_AT = 16;
    private static final int TERM_AT = 24;
    private static final int CRC_AT = 32;
    private static final int SIZE_AT = 36;
    private static final int COUNT_AT = 40;

    /** A record's header fields; {@code recordBytes}: its size on disk. */
    public record Header(int length, long generation, long index, long term, long recordBytes) {
    }

    /** Where one WRITE record's data lies in the record: {@code write} counts the entry's WRITEs with data. */
    record Place(int entryPosition, int length, int recordPosition, int write) {
    }

    /** How an entry lies in its record. */
    record Layout(List<Place> places, int skeletonAt, int recordBytes) {
        /** Record positions of the placed data, by WRITE ordinal; -1 for a WRITE that is not placed. */
        long[] writePositions(long recordStart) {
            int n = places.isEmpty() ? 0 : places.getLast().write() + 1;
            long[] at = new long[n];
            java.util.Arrays.fill(at, -1);
            for (Place p : places) {
                at[p.write()] = recordStart + p.recordPosition();
            }
            return at;
        }
    }

    private JournalRecordLayout() {
    }

    /**
     * The largest record an entry of {@code entryBytes} can need: the placed data wastes less than
     * {@link #ALIGN} bytes before each piece of at least {@link #MIN_PLACED}, plus the header's own
     * block and the table.
     */
    public static long maxRecordBytes(long entryBytes) {
        long pieces = entryBytes / MIN_PLACED;
        return align(HEADER + pieces * PLACE + entryBytes + (pieces + 2) * ALIGN);
    }

    /** Where the bytes of {@code entry} go in its record. */
    static Layout layout(ByteBuffer entry) {
        List<Payload> payloads = VolumeLogLayout.payloads(entry);
        List<Place> places = new ArrayList<>();
        int placedBytes = 0;
        for (int i = 0; i < payloads.size(); i++) {
            Payload p = payloads.get(i);
            if (p.length() >= MIN_PLACED) {
                places.add(new Place(p.position(), p.length(), 0, i));
                placedBytes += p.length();
            }
        }
        int skeletonAt = HEADER + places.size() * PLACE;
        long cursor = skeletonAt + entry.remaining() - placedBytes;
        for (int i = 0; i < places.size(); i++) {
            Place p = places.get(i);
            long offset = payloads.get(p.write()).offset();
            // The first position at or after the cursor that lines up with the volume offset.
            long at = cursor + Math.floorMod(offset - cursor, (long) ALIGN);
            places.set(i, new Place(p.entryPosition(), p.length(), (int) at, p.write()));
            cursor = at + p.length();
        }
        return new Layout(List.copyOf(places), skeletonAt, (int) align(cursor));
    }

    /**
     * Fills {@code record} (of {@code layout.recordBytes()} from position 0) with the record of
     * {@code entry}; flipped, ready to write.
     */
    static void write(ByteBuffer record, Layout layout, long generation, long index, long term, ByteBuffer entry) {
        ByteBuffer e = entry.duplicate();
        int base = e.position();
        record.putInt(MAGIC_PLACED).putInt(e.remaining()).putLong(generation).putLong(index).putLong(term).putInt(0)
                .putInt(layout.recordBytes()).putInt(layout.places().size());
        for (Place p : layout.places()) {
            record.putInt(p.entryPosition()).putInt(p.length()).putInt(p.recordPosition()).putInt(p.write());
        }
        int from = 0;
        for (Place p : layout.places()) {
            record.put(e.duplicate().position(base + from).limit(base + p.entryPosition()));
            from = p.entryPosition() + p.length();
        }
        record.put(e.duplicate().position(base + from));
        int skeletonEnd = record.position();
        // Zeroes only in the gaps: the placed data covers the rest (this runs for every large write).
        int gap = skeletonEnd;
        for (Place p : layout.places()) {
            zero(record, gap, p.recordPosition());
            record.put(p.recordPosition(), e, base + p.entryPosition(), p.length());
            gap = p.recordPosition() + p.length();
        }
        zero(record, gap, layout.recordBytes());
        record.position(0).limit(layout.recordBytes());
        record.putInt(CRC_AT, crc(record, skeletonEnd, layout.places()));
    }

    private static void zero(ByteBuffer b, int from, int to) {
        for (int i = from; i < to; i++) {
            b.put(i, (byte) 0);
        }
    }

    /** The header in {@code h} (its first {@link #HEADER} bytes), or null when it does not start a record. */
    public static Header header(ByteBuffer h) {
        int magic = h.getInt(0);
        int length = h.getInt(LENGTH_AT);
        long recordBytes;
        if (magic == MAGIC_CONTIGUOUS) {
            recordBytes = align(CONTIGUOUS_HEADER + (long) length);
        } else if (magic == MAGIC_PLACED) {
            recordBytes = Integer.toUnsignedLong(h.getInt(SIZE_AT));
            if (recordBytes % ALIGN != 0 || recordBytes < HEADER + (long) length) {
                return null;
            }
        } else {
            return null;
        }
        return new Header(length, h.getLong(GENERATION_AT), h.getLong(INDEX_AT), h.getLong(TERM_AT), recordBytes);
    }

    /**
     * The entry a whole record holds ({@code record}, its bytes on disk from position 0), or null when
     * it is not an intact record of (generation, index, term).
     */
    public static ByteBuffer entry(ByteBuffer record, long generation, long index, long term) {
        Header h = record.remaining() >= HEADER ? header(record) : null;
        if (h == null || h.generation() != generation || h.index() != index || h.term() != term
                || h.recordBytes() > record.remaining()) {
            return null;
        }
        if (record.getInt(0) == MAGIC_CONTIGUOUS) {
            ByteBuffer data = record.duplicate().position(CONTIGUOUS_HEADER).limit(CONTIGUOUS_HEADER + h.length());
            CRC32C c = new CRC32C();
            c.update(record.duplicate().position(0).limit(CRC_AT));
            c.update(data.duplicate());
            return (int) c.getValue() == record.getInt(CRC_AT) ? data.slice() : null;
        }
        List<Place> places = places(record, h);
        if (places == null) {
            return null;
        }
        ByteBuffer out = ByteBuffer.allocate(h.length());
        int skeleton = HEADER + places.size() * PLACE;
        int from = 0;
        for (Place p : places) {
            int n = p.entryPosition() - from;
            out.put(from, record, skeleton, n);
            out.put(p.entryPosition(), record, p.recordPosition(), p.length());
            skeleton += n;
            from = p.entryPosition() + p.length();
        }
        out.put(from, record, skeleton, h.length() - from);
        skeleton += h.length() - from;
        return crc(record, skeleton, places) == record.getInt(CRC_AT) ? out : null;
    }

    /**
     * The places listed in a placed record's table (from its first bytes, {@code head}), checked to
     * lie in order inside the entry and the record; null when they do not.
     */
    static List<Place> places(ByteBuffer head, Header h) {
        int count = head.getInt(COUNT_AT);
        if (count < 0 || count > h.length() / MIN_PLACED || head.remaining() < HEADER + (long) count * PLACE) {
            return null;
        }
        List<Place> places = new ArrayList<>(count);
        long skeletonEnd = HEADER + (long) count * PLACE + h.length();
        int entryFrom = 0;
        long recordFrom = HEADER + (long) count * PLACE;
        int lastWrite = -1;
        for (int i = 0; i < count; i++) {
            int at = HEADER + i * PLACE;
            Place p = new Place(head.getInt(at), head.getInt(at + 4), head.getInt(at + 8), head.getInt(at + 12));
            skeletonEnd -= p.length();
            if (p.length() < MIN_PLACED || p.entryPosition() < entryFrom || p.write() <= lastWrite
                    || (long) p.entryPosition() + p.length() > h.length() || p.recordPosition() < recordFrom
                    || (long) p.recordPosition() + p.length() > h.recordBytes()) {
                return null;
            }
            entryFrom = p.entryPosition() + p.length();
            recordFrom = (long) p.recordPosition() + p.length();
            lastWrite = p.write();
            places.add(p);
        }
        if (!places.isEmpty() && places.getFirst().recordPosition() < skeletonEnd) {
            return null;
        }
        return places;
    }

    /** The bytes a placed record's table takes after the header, from its count field in {@code h}. */
    static int tableBytes(ByteBuffer h) {
        return h.getInt(0) == MAGIC_PLACED ? Math.max(0, h.getInt(COUNT_AT)) * PLACE : 0;
    }

    private static int crc(ByteBuffer record, int skeletonEnd, List<Place> places) {
        CRC32C c = new CRC32C();
        c.update(record.duplicate().position(0).limit(CRC_AT));
        c.update(record.duplicate().position(SIZE_AT).limit(skeletonEnd));
        for (Place p : places) {
            c.update(record.duplicate().position(p.recordPosition()).limit(p.recordPosition() + p.length()));
        }
        return (int) c.getValue();
    }

    private static long align(long n) {
        return (n + ALIGN - 1) & -ALIGN;
    }
}
