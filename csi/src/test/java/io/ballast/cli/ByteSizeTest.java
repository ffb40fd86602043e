package io.ballast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteSizeTest {
    @Test
    void parsesPlainAndSuffixed() {
        assertEquals(4096, ByteSize.parse("4096"));
        assertEquals(512L << 20, ByteSize.parse("512M"));
        assertEquals(4L << 30, ByteSize.parse("4G"));
        assertEquals(4L << 30, ByteSize.parse("4GiB"));
        assertEquals(4L << 30, ByteSize.parse("4gi"));
        assertEquals(1L << 40, ByteSize.parse("1T"));
    }

    @Test
    void refusesGarbageAndOverflow() {
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("four gigs"));
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("-1"));
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("99999999999P"));
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("99999999999999999999"));
    }

    @Test
    void formatsExactUnits() {
        assertEquals("4GiB", ByteSize.format(4L << 30));
        assertEquals("1536B", ByteSize.format(1536));
        assertEquals("0B", ByteSize.format(0));
    }

    @Test
    void humanSizesForReading() {
        assertEquals("512 B", ByteSize.human(512));
        assertEquals("1 GiB", ByteSize.human(1L << 30));
        assertEquals("65.5 GiB", ByteSize.human(70_329_139_200L));
        assertEquals("1.5 KiB", ByteSize.human(1536));
    }
}
