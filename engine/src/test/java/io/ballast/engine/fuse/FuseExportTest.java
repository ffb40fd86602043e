package io.ballast.engine.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.volume.MemoryBlockVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FUSE export through the real kernel, with plain file I/O on the exported file (no loop
 * device). Needs root and /dev/fuse.
 */
class FuseExportTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;
    private ExecutorService pool;
    private MemoryBlockVolume volume;
    private FuseExport export;

    @BeforeEach
    void start() {
        HostRequirements.requireRootAndFuse();
        pool = Executors.newFixedThreadPool(2);
        volume = new MemoryBlockVolume("vol-a", 8 * MIB, pool);
        export = FuseExport.start(volume, dir.resolve("mnt"), FuseExportConfig.defaults());
    }

    @AfterEach
    void stop() {
        try {
            if (export != null) {
                export.close();
            }
        } finally {
            HostCleanup.unmountUnder(dir);
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void fileHasTheVolumesSizeAndBytes() throws IOException {
        Path file = export.file();
        assertEquals(8 * MIB, Files.size(file));
        assertTrue(Files.isRegularFile(file));
        byte[] data = new byte[3 * MIB + 123];
        new Random(7).nextBytes(data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertEquals(data.length, ch.write(ByteBuffer.wrap(data), 4096 + 5));
            ch.force(true);
            ByteBuffer back = ByteBuffer.allocate(data.length);
            while (back.hasRemaining()) {
                if (ch.read(back, 4096 + 5 + back.position()) < 0) {
                    break;
                }
            }
            assertArrayEquals(data, back.array());
        }
        assertArrayEquals(data, volume.bytes(4096 + 5, data.length));
        assertTrue(volume.calls().stream().anyMatch(c -> c.op() == MemoryBlockVolume.Op.FLUSH),
                "fsync on the file must flush the volume");
        assertTrue(export.stats().largestWrite() > 128 * 1024, "big writes: " + export.stats());
        try (var listing = Files.list(export.mountpoint())) {
            assertEquals(java.util.List.of(file), listing.toList());
        }
        assertFalse(Files.exists(export.mountpoint().resolve("other")));
    }

    @Test
    void grownVolumeShowsItsNewSizeAfterSizeChanged() throws IOException {
        assertEquals(8 * MIB, Files.size(export.file()));
        volume.resize(12 * MIB).join();
        assertTrue(export.sizeChanged());
        assertEquals(12 * MIB, Files.size(export.file()));
    }

    @Test
    void aSuccessorTakesTheConnectionOverAndTheKernelResendsWhatWasLeft() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(export.connection().kernelResends(),
                "needs a kernel that resends FUSE requests (Linux 6.9+)");
        byte[] data = new byte[8192];
        new Random(3).nextBytes(data);
        volume.write(0, ByteBuffer.wrap(data), false).join();
        // What the descriptor keeper holds: another reference to the same connection.
        int kept = io.ballast.engine.keeper.ProcessFds.copyFrom(io.ballast.engine.keeper.ProcessFds.pid(), export.deviceFd());
        export.abandon(); // as a stopping node does; a killed one just stops answering
        java.util.concurrent.CompletableFuture<byte[]> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try (FileChannel ch = FileChannel.open(export.file(), StandardOpenOption.READ)) {
                ByteBuffer b = ByteBuffer.allocate(data.length);
                while (b.hasRemaining() && ch.read(b, b.position()) >= 0) {
                    // until full
                }
                return b.array();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(500);
        assertFalse(read.isDone(), "nobody answers: the kernel holds the requests for a successor");
        FuseExport successor = FuseExport.resume(volume, export.mountpoint(), FuseExportConfig.defaults(), kept,
                export.connection());
        export = successor; // teardown unmounts through it
        assertArrayEquals(data, read.get(10, java.util.concurrent.TimeUnit.SECONDS),
                "the request the first session read and left was resent to the successor and answered");
        assertTrue(successor.serving());
    }

    @Test
    void closeUnmountsAndEndsTheConnection() throws IOException {
        export.close();
        assertFalse(export.serving());
        assertFalse(HostCleanup.mountsUnder(dir).iterator().hasNext(), "no mount left");
        export.close(); // idempotent
    }
}
