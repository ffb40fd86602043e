package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.nbd.NbdConstants;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java handshake against our own NBD server in-process, over a socket opened with jnr-ffi. */
class NbdClientHandshakeTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;
    private NbdTestServer server;
    private int fd = -1;

    @BeforeEach
    void setUp() {
        server = new NbdTestServer(dir, "pvc-hs", SIZE);
    }

    @AfterEach
    void tearDown() {
        NbdNative.close(fd);
        server.close();
    }

    private NbdClientHandshake.Export go(String export) {
        fd = NbdNative.connectUnix(server.socket, 2_000);
        return NbdClientHandshake.go(NbdAttacher.transport(fd), export, "test server");
    }

    @Test
    void goReadsSizeFlagsAndBlockSizes() {
        NbdClientHandshake.Export e = go("pvc-hs");
        assertEquals(SIZE, e.size());
        int f = e.transmissionFlags();
        assertEquals(NbdConstants.FLAG_HAS_FLAGS, f & NbdConstants.FLAG_HAS_FLAGS);
        assertEquals(NbdConstants.FLAG_SEND_FLUSH, f & NbdConstants.FLAG_SEND_FLUSH);
        assertEquals(NbdConstants.FLAG_SEND_FUA, f & NbdConstants.FLAG_SEND_FUA);
        assertFalse(e.readOnly());
        assertEquals(1, e.minBlock());
        assertEquals(server.volume.blockSize(), e.preferredBlock());
        assertEquals(NbdConstants.DEFAULT_MAX_PAYLOAD, e.maxBlock());
        assertEquals(server.volume.blockSize(), NbdAttacher.kernelBlockSize(e, server.volume.blockSize()));
    }

    @Test
    void theDescriptorIsInTransmissionAfterGo() throws Exception {
        byte[] block = new byte[4096];
        new Random(7).nextBytes(block);
        server.volume.write(8192, ByteBuffer.wrap(block), false).get();
        go("pvc-hs");
        assertArrayEquals(block, RawNbd.read(fd, 8192, 4096));
        byte[] other = new byte[4096];
        new Random(8).nextBytes(other);
        assertEquals(0, RawNbd.write(fd, 0, other));
        ByteBuffer back = ByteBuffer.allocate(4096);
        server.volume.read(0, back).get();
        assertArrayEquals(other, back.array());
    }

    @Test
    void readOnlyExportSaysSo() {
        server.exports.add("ro", server.volume, true, null);
        assertTrue(go("ro").readOnly());
    }

    @Test
    void unknownExportIsNotFoundWithAdvice() {
        BallastException e = assertThrows(BallastException.class, () -> go("pvc-none"));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertTrue(e.getMessage().startsWith("test server has no export 'pvc-none'"), e.getMessage());
        assertTrue(e.getMessage().contains("attached to this node's NBD server"), e.getMessage());
    }

    @Test
    void noServerIsUnavailable() {
        server.stop();
        BallastException e = assertThrows(BallastException.class, () -> NbdNative.connectUnix(server.socket, 500));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("is ballast node running?"), e.getMessage());
        server.start();
    }

    @Test
    void notAnNbdServerAndASilentOne() throws Exception {
        Path sock = dir.resolve("other.sock");
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(sock));
            int garbage = NbdNative.connectUnix(sock, 500);
            try (SocketChannel peer = listener.accept()) {
                peer.write(ByteBuffer.wrap("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes()));
                BallastException e = assertThrows(BallastException.class,
                        () -> NbdClientHandshake.go(NbdAttacher.transport(garbage), "x", "peer"));
                assertEquals(ErrorCode.IO_ERROR, e.code());
                assertTrue(e.getMessage().startsWith("peer is not an NBD server"), e.getMessage());
            } finally {
                NbdNative.close(garbage);
            }
            int silent = NbdNative.connectUnix(sock, 300);
            try (SocketChannel peer = listener.accept()) {
                long start = System.nanoTime();
                BallastException e = assertThrows(BallastException.class,
                        () -> NbdClientHandshake.go(NbdAttacher.transport(silent), "x", "peer"));
                assertEquals(ErrorCode.UNAVAILABLE, e.code());
                assertTrue(System.nanoTime() - start < 5_000_000_000L, "the receive timeout bounds the wait");
            } finally {
                NbdNative.close(silent);
            }
        }
    }

    @Test
    void goRequestBytes() {
        // IHAVEOPT, NBD_OPT_GO (7), length 4+3+2+2 = 11, name length 3, "vol", 1 info: NBD_INFO_BLOCK_SIZE (3)
        assertEquals("49484156454f5054" + "00000007" + "0000000b" + "00000003" + "766f6c" + "0001" + "0003",
                java.util.HexFormat.of().formatHex(NbdClientHandshake.goRequest("vol")));
    }
}
