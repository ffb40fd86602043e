package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IntegrityRecordTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsAMissingFileIsNoneAndEveryFlippedByteIsDamage() throws Exception {
        Path f = tmp.resolve("integrity-record");
        assertEquals(IntegrityRecord.NONE, IntegrityRecord.read(f));
        IntegrityRecord r = new IntegrityRecord(7, 4, 3, new long[] {900, 5, 1L << 40});
        r.write(f);
        IntegrityRecord back = IntegrityRecord.read(f);
        assertEquals(r, back);
        assertArrayEquals(new long[] {5, 900, 1L << 40}, back.badBlocks(), "kept ascending");
        byte[] bytes = Files.readAllBytes(f);
        for (int i = 0; i < bytes.length; i++) {
            byte[] bad = bytes.clone();
            bad[i] ^= 0x10;
            Files.write(f, bad);
            assertNull(IntegrityRecord.read(f), "byte " + i + " flipped");
        }
        Files.write(f, new byte[3]);
        assertNull(IntegrityRecord.read(f), "truncated");
    }
}
