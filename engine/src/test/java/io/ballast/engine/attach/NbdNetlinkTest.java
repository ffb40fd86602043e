package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ballast.engine.attach.NetlinkCodec.Message;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes of every netlink message the NBD attach path sends, written out by hand from
 * nbd-netlink.h / genetlink.h / netlink.h (little-endian: netlink is host order, and this
 * machine's is), and parsing of hand-written kernel replies, acks and errors.
 */
class NbdNetlinkTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final int NBD_FAMILY = 0x21;

    @BeforeAll
    static void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "golden bytes are little-endian");
    }

    private static byte[] hex(String s) {
        return HEX.parseHex(s.replaceAll("[\\s|]", ""));
    }

    private static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    @Test
    void getFamilyRequest() {
        assertEquals(hex(hex("""
                1c000000 1000 0500 07000000 00000000 | 03 02 0000
                0800 0200 6e626400
                """)), hex(NbdNetlink.getFamily(7, "nbd")));
    }

    @Test
    void getFamilyPadsTheNameToFourBytes() {
        // "nlctrl\0" = 7 bytes: nla_len 11, one pad byte, message length 32
        assertEquals(hex(hex("""
                20000000 1000 0500 01000000 00000000 | 03 02 0000
                0b00 0200 6e6c6374726c00 00
                """)), hex(NbdNetlink.getFamily(1, "nlctrl")));
    }

    @Test
    void connectRequestCarriesEverySettingAndTheNestedSocket() {
        NbdNetlink.Connect c = new NbdNetlink.Connect(NbdNetlink.ANY_INDEX, 1L << 30, 4096, 0x016d, 0, 120,
                "ballast:v", 9);
        assertEquals(hex(hex("""
                6c000000 2100 0500 2a000000 00000000 | 01 01 0000
                0800 0100 ffffffff
                0c00 0200 0000004000000000
                0c00 0300 0010000000000000
                0c00 0500 6d01000000000000
                0c00 0800 7800000000000000
                0e00 0a00 62616c6c6173743a7600 0000
                1000 0780 | 0c00 0180 | 0800 0100 09000000
                """)), hex(NbdNetlink.connect(42, NBD_FAMILY, c)));
    }

    @Test
    void connectWithRequestTimeoutAndWithoutIdentifier() {
        NbdNetlink.Connect c = new NbdNetlink.Connect(3, 8192, 512, 1, 30, 0, null, 5);
        assertEquals(hex(hex("""
                68000000 2100 0500 01000000 00000000 | 01 01 0000
                0800 0100 03000000
                0c00 0200 0020000000000000
                0c00 0300 0002000000000000
                0c00 0500 0100000000000000
                0c00 0800 0000000000000000
                0c00 0400 1e00000000000000
                1000 0780 | 0c00 0180 | 0800 0100 05000000
                """)), hex(NbdNetlink.connect(1, NBD_FAMILY, c)));
    }

    @Test
    void reconfigureWithANewSocket() {
        assertEquals(hex(hex("""
                3c000000 2100 0500 05000000 00000000 | 03 01 0000
                0800 0100 02000000
                0e00 0a00 62616c6c6173743a7600 0000
                1000 0780 | 0c00 0180 | 0800 0100 0b000000
                """)), hex(NbdNetlink.reconfigure(5, NBD_FAMILY, 2, -1, 11, "ballast:v")));
    }

    @Test
    void reconfigureToANewSizeHasNoSockets() {
        assertEquals(hex(hex("""
                38000000 2100 0500 06000000 00000000 | 03 01 0000
                0800 0100 02000000
                0c00 0200 0000008000000000
                0e00 0a00 62616c6c6173743a7600 0000
                """)), hex(NbdNetlink.reconfigure(6, NBD_FAMILY, 2, 2L << 30, -1, "ballast:v")));
    }

    @Test
    void disconnectRequest() {
        assertEquals(hex(hex("""
                1c000000 2100 0500 08000000 00000000 | 02 01 0000
                0800 0100 04000000
                """)), hex(NbdNetlink.disconnect(8, NBD_FAMILY, 4)));
    }

    @Test
    void stringsWithNulAreRefused() {
        assertEquals(ErrorCode.INVALID_ARGUMENT,
                assertThrows(BallastException.class, () -> NbdNetlink.getFamily(1, "n\0bd")).code());
    }

    // ---------------------------------------------------------------- replies

    private static List<Message> datagram(String hex) {
        byte[] b = hex(hex);
        return NetlinkCodec.split(b, b.length);
    }

    @Test
    void connectReplyThenAckNamesTheDevice() {
        List<Message> d = datagram("""
                1c000000 2100 0000 2a000000 11110000 | 01 01 0000 | 0800 0100 03000000
                24000000 0200 0001 2a000000 11110000 | 00000000 | 6c000000 2100 0500 2a000000 00000000
                """);
        List<Message> replies = NbdNetlink.check("NBD_CMD_CONNECT", 42, d, new ArrayList<>());
        assertEquals(1, replies.size());
        assertEquals(3, NbdNetlink.connectedIndex(NBD_FAMILY, replies));
    }

    @Test
    void answersToOtherRequestsAreSkippedAndNoAckMeansReadOn() {
        List<Message> d = datagram("""
                1c000000 2100 0000 29000000 11110000 | 01 01 0000 | 0800 0100 07000000
                24000000 0200 0001 29000000 11110000 | 00000000 | 6c000000 2100 0500 29000000 00000000
                """);
        assertNull(NbdNetlink.check("NBD_CMD_CONNECT", 42, d, new ArrayList<>()));
    }

    @Test
    void ackWithoutTheIndexIsABug() {
        List<Message> d = datagram("""
                24000000 0200 0001 2a000000 11110000 | 00000000 | 6c000000 2100 0500 2a000000 00000000
                """);
        List<Message> replies = NbdNetlink.check("NBD_CMD_CONNECT", 42, d, new ArrayList<>());
        assertEquals(ErrorCode.INTERNAL, assertThrows(BallastException.class,
                () -> NbdNetlink.connectedIndex(NBD_FAMILY, replies)).code());
    }

    @Test
    void enoentForTheNbdFamilySaysModprobe() {
        List<Message> d = datagram("""
                24000000 0200 0001 07000000 11110000 | feffffff | 1c000000 1000 0500 07000000 00000000
                """);
        BallastException e = assertThrows(BallastException.class, () -> NbdNetlink.check(
                "resolving generic netlink family 'nbd'", 7, d, new ArrayList<>()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("the kernel has no nbd module"), e.getMessage());
        assertTrue(e.getMessage().contains("modprobe nbd"), e.getMessage());
    }

    @Test
    void epermWithCappedExtendedAckCarriesTheKernelsText() {
        // flags NLM_F_CAPPED | NLM_F_ACK_TLVS = 0x300; TLV NLMSGERR_ATTR_MSG "nope\0"
        List<Message> d = datagram("""
                30000000 0200 0003 05000000 11110000 | ffffffff | 6c000000 2100 0500 05000000 00000000
                0900 0100 6e6f706500 000000
                """);
        BallastException e = assertThrows(BallastException.class, () -> NbdNetlink.check(
                "NBD_CMD_CONNECT", 5, d, new ArrayList<>()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("EPERM (errno 1)"), e.getMessage());
        assertTrue(e.getMessage().contains("(kernel: nope)"), e.getMessage());
        assertTrue(e.getMessage().contains("CAP_SYS_ADMIN"), e.getMessage());
    }

    @Test
    void uncappedErrorEchoesTheWholeRequestBeforeTheTlvs() {
        // EINVAL; the echoed request (28 bytes: header, genl, INDEX) precedes the TLV "bad\0"
        List<Message> d = datagram("""
                38000000 0200 0002 08000000 11110000 | eaffffff
                1c000000 2100 0500 08000000 00000000 | 02 01 0000 | 0800 0100 04000000
                0800 0100 62616400
                """);
        BallastException e = assertThrows(BallastException.class, () -> NbdNetlink.check(
                "NBD_CMD_DISCONNECT of nbd4", 8, d, new ArrayList<>()));
        assertEquals(ErrorCode.IO_ERROR, e.code());
        assertTrue(e.getMessage().startsWith("NBD_CMD_DISCONNECT of nbd4 failed: EINVAL (errno 22) (kernel: bad)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("dmesg"), e.getMessage());
    }

    @Test
    void ebusyIsAFailedPrecondition() {
        List<Message> d = datagram("""
                24000000 0200 0001 09000000 11110000 | f0ffffff | 6c000000 2100 0500 09000000 00000000
                """);
        assertEquals(ErrorCode.FAILED_PRECONDITION, assertThrows(BallastException.class,
                () -> NbdNetlink.check("NBD_CMD_CONNECT", 9, d, new ArrayList<>())).code());
    }

    @Test
    void familyReplyWithMulticastGroups() {
        // CTRL_CMD_NEWFAMILY (1): FAMILY_ID u16 0x21, FAMILY_NAME "nbd", MCAST_GROUPS [1: {NAME, ID 9}]
        List<Message> d = datagram("""
                48000000 1000 0000 07000000 11110000 | 01 02 0000
                0600 0100 2100 0000
                0800 0200 6e626400
                2400 0780 | 2000 0100 | 1100 0100 6e62645f6d635f67726f757000 000000 | 0800 0200 09000000
                24000000 0200 0001 07000000 11110000 | 00000000 | 1c000000 1000 0500 07000000 00000000
                """);
        NbdNetlink.Family f = NbdNetlink.family("nbd", NbdNetlink.check("resolving", 7, d, new ArrayList<>()));
        assertEquals(new NbdNetlink.Family("nbd", 0x21, Map.of("nbd_mc_group", 9)), f);
    }

    @Test
    void linkDeadMulticast() {
        List<Message> d = datagram("1c000000 2100 0000 00000000 00000000 | 04 01 0000 | 0800 0100 05000000");
        assertEquals(5, NbdNetlink.linkDeadIndex(NBD_FAMILY, d.get(0)));
        assertEquals(-1, NbdNetlink.linkDeadIndex(0x22, d.get(0)));
    }

    @Test
    void malformedLengthsAreRejected() {
        byte[] tooLong = hex("ff000000 2100 0000 00000000 00000000");
        assertEquals(ErrorCode.INTERNAL, assertThrows(BallastException.class,
                () -> NetlinkCodec.split(tooLong, tooLong.length)).code());
        List<Message> d = datagram("1c000000 2100 0000 00000000 00000000 | 04 01 0000 | 0900 0100 05000000");
        assertEquals(ErrorCode.INTERNAL, assertThrows(BallastException.class, () -> d.get(0).genlAttrs()).code());
        byte[] shortError = hex("14000000 0200 0000 00000000 00000000 | 00000000");
        assertEquals(ErrorCode.INTERNAL, assertThrows(BallastException.class,
                () -> NetlinkCodec.split(shortError, shortError.length)).code());
    }
}
