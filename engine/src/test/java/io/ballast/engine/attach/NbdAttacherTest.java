package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.fuse.HostCleanup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real kernel nbd path: a {@link io.ballast.engine.volume.LocalBlockVolume} served by our
 * NBD server, attached as /dev/nbdN by {@link NbdAttacher}, ext4 on it, resize, and I/O that
 * survives a restart of the server. Needs root and the nbd module (/dev/nbd0); elsewhere, CI
 * included (CI's kernel has no nbd either), it skips with that reason.
 */
class NbdAttacherTest {
    private static final long SIZE = 256L << 20;
    static final String NEEDS = "needs the nbd kernel module (/dev/nbd0); this machine has none";

    @TempDir
    Path dir;
    private NbdTestServer server;
    private NbdAttacher attacher;
    private AttachedDevice device;
    private Path mnt;

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/nbd0")), NEEDS);
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to configure nbd devices and mount");
        server = new NbdTestServer(dir, "pvc-nbd", SIZE);
        attacher = new NbdAttacher(server.socket, NbdAttachConfig.defaults().withDeadConnTimeout(Duration.ofSeconds(60)));
        mnt = Files.createDirectories(dir.resolve("fs"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server == null) {
            return; // skipped
        }
        try {
            HostCleanup.unmountUnder(dir);
            if (device != null) {
                device.close();
            }
        } finally {
            attacher.close();
            server.close();
        }
    }

    @Test
    void ext4OnTheDeviceResizeAndAServerRestart() throws Exception {
        device = attacher.attach(server.volume);
        assertTrue(attacher.kernelInterface().startsWith("netlink") || attacher.kernelInterface().startsWith("ioctl"));
        assertEquals(SIZE, device.sizeBytes());
        String dev = device.device().toString();
        Sh.run(120, "mkfs.ext4", "-F", "-q", dev);
        Sh.run(60, "mount", "-t", "ext4", dev, mnt.toString());
        byte[] data = new byte[3 << 20];
        new Random(5).nextBytes(data);
        Files.write(mnt.resolve("a.bin"), data);
        Sh.run(30, "sync");

        BallastException busy = assertThrows(BallastException.class, () -> device.close());
        assertEquals(ErrorCode.FAILED_PRECONDITION, busy.code(), "a mounted device is not detached");

        // Grow the volume, tell the kernel, grow the filesystem online.
        server.volume.resize(2 * SIZE).get();
        assertEquals(2 * SIZE, device.refreshCapacity());
        Sh.run(120, "resize2fs", dev);

        if (attacher.kernelInterface().startsWith("netlink")) {
            // Restart the server under a writer: the kernel holds I/O, NBD_CMD_LINK_DEAD makes us reconnect.
            server.stop();
            Thread writer = new Thread(() -> {
                try {
                    Files.write(mnt.resolve("during.txt"), "written while the server was down".getBytes(StandardCharsets.UTF_8));
                    Sh.run(120, "sync");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            writer.start();
            Thread.sleep(1000);
            server.start();
            writer.join(120_000);
            assertEquals("written while the server was down", Files.readString(mnt.resolve("during.txt")));
        }

        Sh.run(60, "umount", mnt.toString());
        Sh.run(120, "e2fsck", "-f", "-n", dev);
        Sh.run(60, "mount", "-t", "ext4", dev, mnt.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(mnt.resolve("a.bin"))));
        Sh.run(60, "umount", mnt.toString());
        device.close();
        device = null;
    }
}
