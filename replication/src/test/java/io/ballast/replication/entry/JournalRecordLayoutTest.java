package io.ballast.replication.entry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.replication.entry.VolumeLogLayout.Op;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class JournalRecordLayoutTest {
    private final Random rnd = new Random(3);

    private ByteBuffer bytes(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    private static ByteBuffer record(ByteBuffer entry, long generation, long index, long term) {
        JournalRecordLayout.Layout layout = JournalRecordLayout.layout(entry);
        ByteBuffer record = ByteBuffer.allocate(layout.recordBytes());
        JournalRecordLayout.write(record, layout, generation, index, term, entry);
        return record;
    }

    @Test
    void largeWritesLieWhereTheirBlocksLineUpWithTheVolumeAndTheEntryComesBackWhole() {
        ByteBuffer a = bytes(1 << 20);
        ByteBuffer small = bytes(4096);
        ByteBuffer b = bytes(256 << 10);
        ByteBuffer entry = VolumeLogLayout.ops(7, List.of(
                new Op(VolumeLogLayout.OP_WRITE, (byte) 0, 8L << 20, a.remaining(), a),
                new Op(VolumeLogLayout.OP_TRIM, (byte) 0, 0, 4096, null),
                new Op(VolumeLogLayout.OP_WRITE, (byte) 0, 12288, small.remaining(), small),
                new Op(VolumeLogLayout.OP_WRITE, (byte) 0, 3L * 4096 + 512, b.remaining(), b)));
        JournalRecordLayout.Layout layout = JournalRecordLayout.layout(entry);
        assertEquals(2, layout.places().size(), "the 4 KiB write stays in the skeleton");
        long recordAt = 5L * 4096;
        long[] at = layout.writePositions(recordAt);
        assertEquals(3, at.length);
        assertEquals(0, at[0] % 4096, "a block-aligned write starts on a block");
        assertEquals(-1, at[1]);
        assertEquals(512, at[2] % 4096, "as far into its block as its volume offset");
        assertTrue(layout.recordBytes() <= JournalRecordLayout.maxRecordBytes(entry.remaining()));

        ByteBuffer record = record(entry, 2, 40, 3);
        assertEquals(a, record.duplicate().position((int) (at[0] - recordAt)).limit((int) (at[0] - recordAt) + a.remaining()));
        JournalRecordLayout.Header h = JournalRecordLayout.header(record);
        assertEquals(layout.recordBytes(), h.recordBytes());
        assertEquals(entry, JournalRecordLayout.entry(record, 2, 40, 3));
        assertNull(JournalRecordLayout.entry(record, 2, 40, 4), "another term's record");
        record.put(layout.places().get(1).recordPosition() + 100, (byte) ~record.get(layout.places().get(1).recordPosition() + 100));
        assertNull(JournalRecordLayout.entry(record, 2, 40, 3), "a flipped byte in placed data fails the CRC");
    }

    @Test
    void anEntryWithoutWritesIsAllSkeleton() {
        ByteBuffer entry = bytes(300_000); // not an OPS entry at all
        ByteBuffer record = record(entry, 1, 9, 1);
        assertEquals(0, JournalRecordLayout.layout(entry).places().size());
        assertEquals(entry, JournalRecordLayout.entry(record, 1, 9, 1));
        ByteBuffer twisted = record.duplicate();
        twisted.put(JournalRecordLayout.HEADER + 10, (byte) 1);
        twisted.put(JournalRecordLayout.HEADER + 11, (byte) 2);
        assertNull(JournalRecordLayout.entry(twisted.clear(), 1, 9, 1));
    }

    @Test
    void aContiguousRecordOfEarlierVersionsIsStillRead() {
        ByteBuffer data = bytes(10_000);
        ByteBuffer record = ByteBuffer.allocate(16384);
        record.putInt(JournalRecordLayout.MAGIC_CONTIGUOUS).putInt(10_000).putLong(4).putLong(77).putLong(2).putInt(0);
        record.put(data.duplicate());
        CRC32C c = new CRC32C();
        c.update(record.duplicate().position(0).limit(32));
        c.update(data.duplicate());
        record.putInt(32, (int) c.getValue()).clear();
        assertEquals(12288, JournalRecordLayout.header(record).recordBytes());
        assertEquals(data, JournalRecordLayout.entry(record, 4, 77, 2));
    }

    @Test
    void aDamagedTableIsNotTrusted() {
        ByteBuffer a = bytes(128 << 10);
        ByteBuffer entry = VolumeLogLayout.ops(1, List.of(new Op(VolumeLogLayout.OP_WRITE, (byte) 0, 0, a.remaining(), a)));
        ByteBuffer record = record(entry, 1, 1, 1);
        record.putInt(JournalRecordLayout.HEADER + 8, 1 << 30); // the place's record position
        assertNull(JournalRecordLayout.entry(record, 1, 1, 1));
        assertNull(JournalRecordLayout.places(record, JournalRecordLayout.header(record)));
    }
}
