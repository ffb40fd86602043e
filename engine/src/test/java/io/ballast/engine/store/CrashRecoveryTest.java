package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static io.ballast.engine.store.StoreTesting.assertCode;
import static io.ballast.engine.store.StoreTesting.random;
import static io.ballast.engine.store.StoreTesting.read;
import static io.ballast.engine.store.StoreTesting.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crash simulations: {@code crashClose()} leaves the files as kill -9 would (no flush, no clean flag). */
class CrashRecoveryTest {
    /** 64 KiB regions: 16 blocks each; the volume has 4 regions. */
    private static final int REGION_SHIFT = 16;
    private static final long SIZE = 64 * B;

    @TempDir
    Path tmp;

    private Path dir() {
        return tmp.resolve("vol");
    }

    @Test
    void flushedDataSurvivesACrash() throws Exception {
        byte[] data = random(new Random(1), (int) SIZE);
        LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT);
        s.write(0, ByteBuffer.wrap(data));
        s.trim(10L * B, 3 * B);
        s.flush();
        s.crashClose();
        Arrays.fill(data, 10 * B, 13 * B, (byte) 0);
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertArrayEquals(data, readAll(r));
            assertEquals(List.of(), r.verify());
            assertEquals(0, r.dirtyRegions().length, "recovery leaves every region clean");
        }
    }

    @Test
    void tornBlockInADirtyRegionIsAdopted() throws Exception {
        LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT);
        s.write(0, ByteBuffer.wrap(random(new Random(2), B)));
        assertArrayEquals(new long[] {0}, s.dirtyRegions());
        s.crashClose();
        // the new data reached the disk, its checksum did not
        byte[] torn = random(new Random(3), B);
        StoreTesting.overwrite(VolumeFiles.data(dir()), 0, torn);
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertArrayEquals(torn, read(r, 0, B));
            assertEquals(0, r.checksumFailures());
            assertEquals(List.of(), r.verify());
        }
    }

    @Test
    void theSameTearOutsideADirtyRegionIsCorruption() throws Exception {
        byte[] block0 = random(new Random(4), B);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT)) {
            s.write(0, ByteBuffer.wrap(block0));
        } // clean close: every region clean
        LocalBlockStore s = LocalBlockStore.open(dir(), "vol");
        s.write(20L * B, ByteBuffer.wrap(block0)); // region 1 becomes dirty, region 0 stays clean
        assertArrayEquals(new long[] {1}, s.dirtyRegions());
        s.crashClose();
        StoreTesting.overwrite(VolumeFiles.data(dir()), 100, new byte[] {1, 2, 3});
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertCode(ErrorCode.CORRUPTION, () -> read(r, 0, B));
            assertArrayEquals(block0, read(r, 20L * B, B));
            assertEquals(List.of(0L), r.verify());
        }
    }

    @Test
    void dirtyBitsClearAfterAnIdleCheckpointInterval() throws Exception {
        try (LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT)) {
            assertEquals(0, s.dirtyRegions().length);
            s.write(B, ByteBuffer.wrap(new byte[10]));
            s.write(17L * B - 5, ByteBuffer.wrap(new byte[10])); // spans regions 0 and 1
            assertArrayEquals(new long[] {0, 1}, s.dirtyRegions());
            s.checkpoint();
            assertArrayEquals(new long[] {0, 1}, s.dirtyRegions(), "kept for one more checkpoint (hysteresis)");
            s.write(40L * B, ByteBuffer.wrap(new byte[10])); // region 2, after that flush
            s.checkpoint();
            assertArrayEquals(new long[] {2}, s.dirtyRegions());
            s.checkpoint();
            assertEquals(0, s.dirtyRegions().length);
        }
    }

    @Test
    void periodicRetirementClearsOnlyIdleRegions() throws Exception {
        try (LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT)) {
            s.write(B, ByteBuffer.wrap(new byte[10]));                // region 0
            s.retireIdleRegions();
            assertArrayEquals(new long[] {0}, s.dirtyRegions(), "just written: not idle for a whole interval yet");
            s.write(40L * B, ByteBuffer.wrap(new byte[10]));          // region 2
            s.retireIdleRegions();
            assertArrayEquals(new long[] {2}, s.dirtyRegions(), "region 0 idle for an interval: retired; region 2 busy");
            s.write(40L * B, ByteBuffer.wrap(new byte[10]));          // region 2 keeps being written
            s.retireIdleRegions();
            assertArrayEquals(new long[] {2}, s.dirtyRegions(), "busy region kept");
            s.retireIdleRegions();
            assertEquals(0, s.dirtyRegions().length, "everything idle: all retired");
        }
    }

    @Test
    void flushAloneKeepsRegionsDirtySoStaleChecksumsOfFlushedDataAreAdopted() throws Exception {
        byte[] block = random(new Random(9), B);
        LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT);
        s.write(3L * B, ByteBuffer.wrap(block));
        for (int i = 0; i < 5; i++) {
            s.flush(); // flushes never clear bits: only checkpoints do
        }
        assertArrayEquals(new long[] {0}, s.dirtyRegions());
        s.crashClose();
        // the flushed data reached the disk but its checksum slot did not (no checkpoint ran)
        StoreTesting.overwrite(VolumeFiles.checksums(dir()), ChecksumFileLayout.slotOffset(3), new byte[4]);
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertArrayEquals(block, read(r, 3L * B, B), "flushed data must read back after the crash");
            assertEquals(0, r.checksumFailures());
        }
    }

    @Test
    void aCrashDuringResizeKeepsTheOldSize() throws Exception {
        byte[] data = random(new Random(5), (int) SIZE);
        LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT);
        s.write(0, ByteBuffer.wrap(data));
        s.flush();
        s.crashClose();
        // simulate the files grown but the metadata not yet replaced
        try (var raf = new java.io.RandomAccessFile(VolumeFiles.data(dir()).toFile(), "rw")) {
            raf.setLength(2 * SIZE);
        }
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertEquals(SIZE, r.size());
            assertArrayEquals(data, readAll(r));
            r.resize(3 * SIZE);
            assertTrue(Arrays.equals(new byte[(int) (2 * SIZE)], read(r, SIZE, (int) (2 * SIZE))));
        }
    }

    @Test
    void damagedVolumeFilesAreRefusedWithClearCodes() throws Exception {
        try (LocalBlockStore s = StoreTesting.newStore(tmp, SIZE, REGION_SHIFT)) {
            s.write(0, ByteBuffer.wrap(new byte[] {1}));
        }
        StoreTesting.flipByte(VolumeFiles.metadata(dir()), VolumeMetadataLayout.SIZE_OFFSET);
        var ex = assertCode(ErrorCode.CORRUPTION, () -> LocalBlockStore.open(dir(), "vol"));
        assertTrue(ex.getMessage().contains(VolumeMetadataLayout.FILE_NAME), ex.getMessage());
        StoreTesting.flipByte(VolumeFiles.metadata(dir()), VolumeMetadataLayout.SIZE_OFFSET); // repair
        StoreTesting.overwrite(VolumeFiles.checksums(dir()), 0, "NOTOURS!".getBytes());
        assertCode(ErrorCode.FOREIGN_FORMAT, () -> LocalBlockStore.open(dir(), "vol"));
        StoreTesting.overwrite(VolumeFiles.checksums(dir()), 0, "BLSTCSUM".getBytes());
        StoreTesting.flipByte(VolumeFiles.bitmap(dir()), DirtyBitmapLayout.REGION_SHIFT_OFFSET);
        assertCode(ErrorCode.CORRUPTION, () -> LocalBlockStore.open(dir(), "vol"));
        StoreTesting.flipByte(VolumeFiles.bitmap(dir()), DirtyBitmapLayout.REGION_SHIFT_OFFSET);
        try (LocalBlockStore r = LocalBlockStore.open(dir(), "vol")) {
            assertEquals(1, read(r, 0, 1)[0]);
            assertFalse(r.verify().iterator().hasNext());
        }
    }
}
