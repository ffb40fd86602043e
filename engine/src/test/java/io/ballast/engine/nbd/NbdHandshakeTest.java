package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.Wire.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.volume.MemoryBlockVolume;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Golden-frame tests of the fixed-newstyle handshake on an EmbeddedChannel. */
class NbdHandshakeTest {
    private static final int MIB = 1 << 20;
    private final MemoryBlockVolume disk = new MemoryBlockVolume("disk", MIB);
    private final MemoryBlockVolume other = new MemoryBlockVolume("other", 2 * MIB);

    // 1 MiB, flags HAS_FLAGS|SEND_FLUSH|SEND_FUA|SEND_TRIM|SEND_WRITE_ZEROES|CAN_MULTI_CONN = 0x016d
    private static final String INFO_EXPORT_GO =
            REPLY_MAGIC + "00000007 00000003 0000000c | 0000 0000000000100000 016d";
    private static final String BLOCK_SIZE_GO =
            REPLY_MAGIC + "00000007 00000003 0000000e | 0003 00000001 00001000 00010000";
    private static final String ACK_GO = REPLY_MAGIC + "00000007 00000001 00000000";

    @Test
    void greetingThenGoWithNameAndBlockSizeThenTransmission() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.expect(hex(GREETING));
            c.send(clientFlags(3));
            c.send(hex(IHAVEOPT + "00000007 0000000e | 00000004 6469736b | 0002 0001 0003"));
            c.expect(hex(INFO_EXPORT_GO
                    + REPLY_MAGIC + "00000007 00000003 00000006 | 0001 6469736b"
                    + BLOCK_SIZE_GO + ACK_GO));
            // now in transmission: a READ of 8 bytes at 0
            c.send(hex("25609513 0000 0000 0102030405060708 0000000000000000 00000008"));
            c.expect(hex("67446698 00000000 0102030405060708 0000000000000000"));
        }
    }

    @Test
    void infoDoesNotEndNegotiationAndGoWithEmptyNameUsesTheOnlyExport() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(1), option(6, goData("disk")));
            c.expect(hex((INFO_EXPORT_GO + BLOCK_SIZE_GO + ACK_GO).replace("00000007 0000000", "00000006 0000000")));
            c.send(option(7, goData("")));
            c.expect(hex(INFO_EXPORT_GO + BLOCK_SIZE_GO + ACK_GO));
            assertTrue(c.ch.isOpen());
        }
    }

    @Test
    void listRepliesOneServerPerExportThenAck() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk, other))) {
            c.drain();
            c.send(clientFlags(3), option(3, new byte[0]));
            c.expect(hex(REPLY_MAGIC + "00000003 00000002 00000008 00000004 6469736b"
                    + REPLY_MAGIC + "00000003 00000002 00000009 00000005 6f74686572"
                    + REPLY_MAGIC + "00000003 00000001 00000000"));
            c.send(option(3, new byte[] {1}));
            byte[] invalid = c.drain();
            assertEquals(norm(REPLY_MAGIC + "00000003 80000003"), head(invalid, 16));
        }
    }

    @Test
    void exportNameWithAndWithoutZeroes() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3), option(1, "disk".getBytes(StandardCharsets.UTF_8)));
            c.expect(hex("0000000000100000 016d"));
        }
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(1), option(1, new byte[0])); // default export
            c.expect(concat(hex("0000000000100000 016d"), new byte[124]));
            c.send(request(0, 3, 9, 0, 0)); // FLUSH works: transmission entered
            c.expect(reply(0, 9));
        }
    }

    @Test
    void exportNameForUnknownExportDisconnects() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3), option(1, "nope".getBytes(StandardCharsets.UTF_8)));
            assertArrayEquals(new byte[0], c.drain());
            assertFalse(c.ch.isOpen());
        }
    }

    @Test
    void abortIsAckedThenClosed() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3), option(2, new byte[0]));
            c.expect(hex(REPLY_MAGIC + "00000002 00000001 00000000"));
            assertFalse(c.ch.isOpen());
        }
    }

    /**
     * A TCP connection of a server with TLS: before STARTTLS, options are refused with
     * NBD_REP_ERR_TLS_REQD and EXPORT_NAME disconnects; STARTTLS is acknowledged in plaintext and a
     * TLS handler then sits in front of the pipeline (the handshake itself: TlsIT, with nbdinfo and qemu-io).
     */
    @Test
    void aConnectionThatRequiresTlsNamesNoExportBeforeStartTls() throws Exception {
        NbdServerConfig tls = NbdServerConfig.unix(java.nio.file.Path.of("/unused")).withTcp("127.0.0.1", 0)
                .withTcpTls(javax.net.ssl.SSLContext.getDefault());
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk), tls)) {
            c.drain();
            c.send(clientFlags(3));
            for (int opt : new int[] {3, 6, 7, 8}) {
                c.send(option(opt, opt == 3 || opt == 8 ? new byte[0] : goData("disk")));
                byte[] r = c.drain();
                assertEquals(norm(REPLY_MAGIC) + String.format("%08x", opt) + "80000005", head(r, 16), "option " + opt);
                assertFalse(new String(r, StandardCharsets.ISO_8859_1).contains("disk"), "no export named before TLS");
            }
            c.send(option(5, new byte[] {1}));
            assertEquals(norm(REPLY_MAGIC) + "00000005" + "80000003", head(c.drain(), 16), "STARTTLS takes no data");
            c.send(option(5, new byte[0]));
            c.expect(hex(REPLY_MAGIC + "00000005 00000001 00000000"));
            assertTrue(c.ch.pipeline().first() instanceof io.netty.handler.ssl.SslHandler, "TLS in front of the pipeline");
            assertEquals("nbd-tls", c.ch.pipeline().names().get(0));
        }
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk), tls)) {
            c.drain();
            c.send(clientFlags(3), option(1, "disk".getBytes(StandardCharsets.UTF_8)));
            assertEquals(0, c.drain().length, "EXPORT_NAME before TLS: no reply");
            assertFalse(c.ch.isOpen(), "and the connection ends");
        }
    }

    @Test
    void unsupportedOptionsGetErrUnsupAndTheirPayloadIsSkipped() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3));
            for (int opt : new int[] {5, 8, 9, 10, 11, 0x1234}) {
                c.send(option(opt, "junk-payload".getBytes(StandardCharsets.UTF_8)));
                byte[] r = c.drain();
                assertEquals(norm(REPLY_MAGIC) + String.format("%08x", opt) + "80000001",
                        head(r, 16), "option " + opt);
                assertTrue(c.ch.isOpen());
            }
            c.send(option(7, goData("disk")));
            c.expect(hex(INFO_EXPORT_GO + BLOCK_SIZE_GO + ACK_GO));
        }
    }

    @Test
    void unknownOrDefaultExportWithSeveralExportsIsErrUnknown() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk, other))) {
            c.drain();
            c.send(clientFlags(3), option(7, goData("missing")));
            assertEquals(norm(REPLY_MAGIC) + "0000000780000006", head(c.drain(), 16));
            c.send(option(7, goData("")));
            assertEquals(norm(REPLY_MAGIC) + "0000000780000006", head(c.drain(), 16));
            c.send(option(7, goData("other")));
            byte[] ok = c.drain();
            assertEquals(norm(REPLY_MAGIC) + "00000007000000030000000c0000" + "0000000000200000016d",
                    head(ok, 32));
        }
    }

    @Test
    void malformedGoLengthsAreErrInvalid() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3));
            // name length larger than the payload
            c.send(hex(IHAVEOPT + "00000007 0000000a | 00001000 6469736b 0000"));
            assertEquals(norm(REPLY_MAGIC) + "0000000780000003", head(c.drain(), 16));
            // info count says 2, only 1 present
            c.send(hex(IHAVEOPT + "00000007 0000000c | 00000004 6469736b 0002 0001"));
            assertEquals(norm(REPLY_MAGIC) + "0000000780000003", head(c.drain(), 16));
            // shorter than the fixed part
            c.send(hex(IHAVEOPT + "00000007 00000003 | 000000"));
            assertEquals(norm(REPLY_MAGIC) + "0000000780000003", head(c.drain(), 16));
            assertTrue(c.ch.isOpen());
        }
    }

    @Test
    void optionTooLongDisconnectsWithoutAllocating() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3), hex(IHAVEOPT + "00000007 7fffffff"));
            assertArrayEquals(new byte[0], c.drain());
            assertFalse(c.ch.isOpen());
            assertTrue(c.alloc.largest() < 64 * 1024, "allocated " + c.alloc.largest());
        }
    }

    @Test
    void unknownClientFlagsOrNoFixedNewstyleDisconnect() {
        for (int flags : new int[] {0x4, 0x80000001, 0x0, 0x2}) {
            try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
                c.drain();
                c.send(clientFlags(flags));
                assertArrayEquals(new byte[0], c.drain());
                assertFalse(c.ch.isOpen(), "flags " + flags);
            }
        }
    }

    @Test
    void requestBeforeHandshakeFinishedDisconnects() {
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain();
            c.send(clientFlags(3), write(0, 1, 0, pattern(16, 1)));
            assertArrayEquals(new byte[0], c.drain());
            assertFalse(c.ch.isOpen());
            assertEquals(0, disk.calls().size());
        }
    }

    @Test
    void readOnlyExportAdvertisesReadOnlyAndRefusesWritesWithEperm() {
        MapNbdExports exports = new MapNbdExports().add("ro", disk, true, "a read-only disk");
        disk.fill(0, pattern(512, 7));
        byte[] before = disk.bytes(0, MIB);
        try (NbdTestChannel c = new NbdTestChannel(exports)) {
            c.drain();
            c.send(clientFlags(3), option(7, goData("ro", 2)));
            // flags HAS_FLAGS|READ_ONLY|SEND_FLUSH|CAN_MULTI_CONN = 0x0107, then the description
            c.expect(hex(REPLY_MAGIC + "00000007 00000003 0000000c | 0000 0000000000100000 0107"
                    + REPLY_MAGIC + "00000007 00000003 00000012 | 0002" + hex("a read-only disk".getBytes())
                    + BLOCK_SIZE_GO + ACK_GO));
            c.send(write(0, 1, 0, pattern(512, 9)), request(0, 4, 2, 0, 4096), request(0, 6, 3, 0, 4096),
                    request(0, 0, 4, 0, 4));
            c.expect(concat(reply(1, 1), reply(1, 2), reply(1, 3), reply(0, 4), java.util.Arrays.copyOf(before, 4)));
        }
        assertArrayEquals(before, disk.bytes(0, MIB));
        assertEquals(1, disk.calls().size()); // only the READ reached the volume
    }
}
