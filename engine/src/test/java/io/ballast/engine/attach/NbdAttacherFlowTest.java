package io.ballast.engine.attach;

import io.ballast.engine.sys.Errno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.nbd.NbdConstants;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NbdAttacher}'s whole flow against our NBD server in-process, with the kernel replaced at
 * the {@link NbdKernel} seam by {@link RecordingNbdKernel}: what the kernel would be given, that
 * the socket is the negotiated connection, reconnect after a server restart, adoption of a device
 * left connected by an earlier process, resize and detach.
 */
class NbdAttacherFlowTest {
    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;
    private NbdTestServer server;
    private RecordingNbdKernel kernel;
    private NbdAttacher attacher;

    @BeforeEach
    void setUp() {
        server = new NbdTestServer(dir, "pvc-a", SIZE);
        kernel = new RecordingNbdKernel();
        attacher = new NbdAttacher(server.socket, NbdAttachConfig.defaults().withDeadConnTimeout(Duration.ofSeconds(20)),
                () -> kernel);
    }

    @AfterEach
    void tearDown() {
        attacher.close();
        NbdNative.close(kernel.kernelFd);
        server.close();
    }

    @Test
    void theKernelGetsTheNegotiatedConnectionAndItsSettings() throws Exception {
        NbdAttacher.NbdDevice d = (NbdAttacher.NbdDevice) attacher.attach(server.volume);
        assertEquals(1, kernel.connects.size());
        NbdNetlink.Connect c = kernel.connects.get(0);
        assertEquals(NbdNetlink.ANY_INDEX, c.index());
        assertEquals(SIZE, c.sizeBytes());
        assertEquals(server.volume.blockSize(), c.blockSize());
        assertEquals(NbdConstants.FLAG_HAS_FLAGS | NbdConstants.FLAG_SEND_FLUSH | NbdConstants.FLAG_SEND_FUA,
                c.serverFlags() & (NbdConstants.FLAG_HAS_FLAGS | NbdConstants.FLAG_SEND_FLUSH
                        | NbdConstants.FLAG_SEND_FUA | NbdConstants.FLAG_READ_ONLY));
        assertEquals(20, c.deadConnSeconds());
        assertEquals(0, c.timeoutSeconds());
        assertEquals("ballast:pvc-a", c.backendId());
        assertEquals(0, kernel.receiveTimeoutSeen, "the kernel's socket must have no receive timeout");
        assertEquals(0, d.index());
        assertEquals(Path.of("/dev/nbd0"), d.device());
        assertTrue(d.directIo());
        assertEquals(SIZE, d.sizeBytes());

        // The attacher closed its descriptor: only the kernel's reference keeps the connection.
        assertEquals(1, server.openConnections());
        byte[] block = new byte[4096];
        new Random(1).nextBytes(block);
        assertEquals(0, RawNbd.write(kernel.kernelFd, 4096, block));
        ByteBuffer back = ByteBuffer.allocate(4096);
        server.volume.read(4096, back).get();
        assertArrayEquals(block, back.array());

        d.close();
        d.close();
        assertEquals(java.util.List.of(0), kernel.disconnects);
        await(() -> server.openConnections() == 0, "the connection closes with the device");
    }

    @Test
    void reconnectsWhenTheKernelReportsTheLinkDeadAfterAServerRestart() throws Exception {
        NbdAttacher.NbdDevice d = (NbdAttacher.NbdDevice) attacher.attach(server.volume);
        server.stop();
        kernel.linkDead.accept(d.index()); // reported while the server is still down: retried
        Thread.sleep(500);
        assertEquals(0, kernel.reconnects.get());
        server.start();
        await(() -> kernel.reconnects.get() == 1, "reconnect after the server came back");
        assertEquals(1, server.openConnections(), "the new server sees exactly the kernel's new connection");
        assertEquals(0, kernel.receiveTimeoutSeen);
        byte[] block = new byte[4096];
        new Random(2).nextBytes(block);
        server.volume.write(0, ByteBuffer.wrap(block), false).get();
        assertArrayEquals(block, RawNbd.read(kernel.kernelFd, 0, 4096));
        assertEquals(1, kernel.connects.size(), "the same device, not a new one");
        // a link-dead report for a device that is not ours changes nothing
        kernel.linkDead.accept(9);
        Thread.sleep(300);
        assertEquals(1, kernel.reconnects.get());
    }

    @Test
    void attachAdoptsTheDeviceAnEarlierProcessLeftConnected() {
        kernel.connected.put("ballast:pvc-a", 7);
        NbdAttacher.NbdDevice d = (NbdAttacher.NbdDevice) attacher.attach(server.volume);
        assertEquals(7, d.index());
        assertEquals(0, kernel.connects.size());
        assertEquals(1, kernel.reconnects.get());
        assertArrayEquals(new byte[512], RawNbd.read(kernel.kernelFd, 0, 512));
    }

    @Test
    void refreshCapacityGivesTheKernelTheVolumesNewSize() throws Exception {
        AttachedDevice d = attacher.attach(server.volume);
        server.volume.resize(2 * SIZE).get();
        assertEquals(2 * SIZE, d.refreshCapacity());
        assertEquals(java.util.List.of(2 * SIZE), kernel.resizes);
    }

    @Test
    void unknownExportLeavesNothingBehind() {
        server.exports.remove("pvc-a");
        BallastException e = assertThrows(BallastException.class, () -> attacher.attach(server.volume));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals(0, kernel.connects.size());
        await(() -> server.openConnections() == 0, "the handshake socket is closed");
    }

    @Test
    void noNbdOnTheHostIsAnActionableFailure() {
        try (NbdAttacher none = new NbdAttacher(server.socket, NbdAttachConfig.defaults(), () -> {
            throw NbdNetlink.failure("resolving generic netlink family 'nbd'", Errno.ENOENT, null);
        })) {
            BallastException e = assertThrows(BallastException.class, () -> none.attach(server.volume));
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            assertTrue(e.getMessage().contains("modprobe nbd"), e.getMessage());
        }
        if (!Files.exists(Path.of("/sys/module/nbd")) && !Files.exists(Path.of("/dev/nbd0"))) {
            BallastException e = assertThrows(BallastException.class,
                    () -> NbdAttacher.systemKernel(NbdAttachConfig.defaults()));
            assertTrue(e.getMessage().startsWith("the kernel has no nbd module"), e.getMessage());
        }
    }

    @Test
    void kernelBlockSizeChoice() {
        assertEquals(4096, NbdAttacher.kernelBlockSize(new NbdClientHandshake.Export(1 << 20, 1, 1, 4096, 0), 512));
        assertEquals(512, NbdAttacher.kernelBlockSize(new NbdClientHandshake.Export(1 << 20, 1, 1, 0, 512), 512));
        // preferred above the page size: the volume's
        assertEquals(1024, NbdAttacher.kernelBlockSize(new NbdClientHandshake.Export(1 << 20, 1, 1, 65536, 0), 1024));
        // a size that 4096 does not divide
        assertEquals(512, NbdAttacher.kernelBlockSize(new NbdClientHandshake.Export(4608, 1, 1, 4096, 0), 4096));
        assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(BallastException.class,
                () -> NbdAttacher.kernelBlockSize(new NbdClientHandshake.Export(1000, 1, 1, 4096, 0), 4096)).code());
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
