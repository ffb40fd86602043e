package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.attach.NbdNative.GenlSocket;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Round trips with this machine's real generic netlink controller (no privileges needed): the
 * sockets, sendto/recv, ack handling and errno mapping of {@link NbdNative.GenlSocket}.
 */
class GenlControllerTest {
    private static final long TIMEOUT = 5_000;

    @Test
    void resolvesTheControllerItself() {
        try (GenlSocket s = GenlSocket.open(TIMEOUT)) {
            NbdNetlink.Family f = s.resolve("nlctrl");
            assertEquals("nlctrl", f.name());
            assertEquals(NbdNetlink.GENL_ID_CTRL, f.id());
            assertTrue(f.multicastGroups().containsKey("notify"), f.toString());
            // the same socket serves several requests (sequence numbers advance)
            assertEquals(f, s.resolve("nlctrl"));
        }
    }

    @Test
    void nbdFamilyAnswersEnoentCleanlyWhereTheModuleIsMissing() {
        boolean moduleLoaded = Files.exists(Path.of("/sys/module/nbd"));
        try (GenlSocket s = GenlSocket.open(TIMEOUT)) {
            if (moduleLoaded) {
                NbdNetlink.Family f = s.resolve("nbd");
                assertTrue(f.multicastGroups().containsKey(NbdNetlink.MCAST_GROUP), f.toString());
                return;
            }
            BallastException e = assertThrows(BallastException.class, () -> s.resolve("nbd"));
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            assertEquals("the kernel has no nbd module (generic netlink family 'nbd' is not registered): "
                    + "modprobe nbd, or attach with --attach=fuse-loop", e.getMessage());
            // the socket is still usable after an error answer
            assertEquals(NbdNetlink.GENL_ID_CTRL, s.resolve("nlctrl").id());
        }
    }

    @Test
    void unknownFamilyIsNotFound() {
        try (GenlSocket s = GenlSocket.open(TIMEOUT)) {
            BallastException e = assertThrows(BallastException.class, () -> s.resolve("ballast-none"));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            assertTrue(e.getMessage().contains("ENOENT (errno 2)"), e.getMessage());
        }
    }

    @Test
    void unsupportedCommandGetsTheKernelsErrno() {
        try (GenlSocket s = GenlSocket.open(TIMEOUT)) {
            BallastException e = assertThrows(BallastException.class, () -> s.transact("CTRL command 99",
                    seq -> new NetlinkCodec.Builder(NbdNetlink.GENL_ID_CTRL,
                            NetlinkCodec.NLM_F_REQUEST | NetlinkCodec.NLM_F_ACK, seq, 99, 2).build()));
            assertEquals(ErrorCode.IO_ERROR, e.code());
            assertTrue(e.getMessage().startsWith("CTRL command 99 failed: EOPNOTSUPP (errno 95)"), e.getMessage());
        }
    }

    @Test
    void joinsAMulticastGroupAndTimesOutQuietly() {
        try (GenlSocket s = GenlSocket.open(200)) {
            s.join(s.resolve("nlctrl").multicastGroups().get("notify"));
            BallastException e = assertThrows(BallastException.class, () -> s.receive("waiting"));
            assertEquals(ErrorCode.UNAVAILABLE, e.code());
        }
    }

    @Test
    void systemProbeAgreesWithTheKernel() {
        assertEquals(Files.exists(Path.of("/sys/module/nbd")), DeviceAttachers.Probes.system().nbdFamilyResolves());
    }
}
