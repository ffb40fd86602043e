package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static io.ballast.engine.store.StoreTesting.assertCode;
import static io.ballast.engine.store.StoreTesting.random;
import static io.ballast.engine.store.StoreTesting.read;
import static io.ballast.engine.store.StoreTesting.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalBlockStoreTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsAtEveryAlignmentAgainstAModel() throws Exception {
        long size = 64 * B;
        byte[] model = new byte[(int) size];
        Random rnd = new Random(1);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            assertArrayEquals(model, readAll(s), "a fresh volume reads as zeroes");
            long[] offsets = {0, 1, 511, 4095, 4096, 4097, 5000, 8191, 3 * B};
            int[] lengths = {1, 100, 4095, 4096, 4097, 8192, 12345, 3 * B + 7};
            for (long off : offsets) {
                for (int len : lengths) {
                    byte[] data = random(rnd, len);
                    ByteBuffer src = rnd.nextBoolean() ? ByteBuffer.wrap(data)
                            : ByteBuffer.allocateDirect(len).put(data).flip();
                    s.write(off, src);
                    assertEquals(0, src.position(), "write leaves the source position alone");
                    System.arraycopy(data, 0, model, (int) off, len);
                    assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len), read(s, off, len));
                }
            }
            assertArrayEquals(model, readAll(s));
            // unaligned reads spanning blocks, into heap and direct buffers
            for (long off : offsets) {
                ByteBuffer direct = ByteBuffer.allocateDirect(9000);
                s.read(off + 3, direct);
                byte[] got = new byte[9000];
                direct.flip().get(got);
                assertArrayEquals(Arrays.copyOfRange(model, (int) off + 3, (int) off + 9003), got);
            }
            assertEquals(0, s.checksumFailures());
            assertEquals(List.of(), s.verify());
        }
    }

    @Test
    void refusedRequestsGetExactCodesAndChangeNothing() throws Exception {
        long size = 16 * B;
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            byte[] data = random(new Random(2), (int) size);
            s.write(0, ByteBuffer.wrap(data));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.write(size - 10, ByteBuffer.allocate(11)));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.write(-1, ByteBuffer.allocate(1)));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.write(Long.MAX_VALUE, ByteBuffer.allocate(1)));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.read(size, ByteBuffer.allocate(1)));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.read(size - 1, ByteBuffer.allocate(2)));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.trim(0, size + B));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.writeZeroes(B, Long.MAX_VALUE, true));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> s.trim(0, -1));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> s.writeZeroes(0, -4096, false));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> s.read(0, ByteBuffer.allocate(4).asReadOnlyBuffer()));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.resize(size + 1));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> s.resize(0));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> s.resize(size - B));
            s.read(size, ByteBuffer.allocate(0)); // empty request at the end is fine
            s.write(size, ByteBuffer.allocate(0));
            assertArrayEquals(data, readAll(s));
            assertEquals(size, s.size());
        }
    }

    @Test
    void closedStoreRefusesWithFailedPrecondition() throws Exception {
        LocalBlockStore s = StoreTesting.newStore(tmp, 4 * B, 16);
        s.close();
        s.close(); // idempotent
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> s.read(0, ByteBuffer.allocate(1)));
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> s.write(0, ByteBuffer.allocate(1)));
        assertCode(ErrorCode.FAILED_PRECONDITION, s::flush);
    }

    @Test
    void corruptDataIsReportedForThatBlockOnly() throws Exception {
        long size = 8 * B;
        byte[] data = random(new Random(3), (int) size);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
        }
        StoreTesting.flipByte(VolumeFiles.data(tmp.resolve("vol")), 2L * B + 17);
        try (LocalBlockStore s = LocalBlockStore.open(tmp.resolve("vol"), "vol")) {
            var ex = assertCode(ErrorCode.CORRUPTION, () -> read(s, 2L * B, B));
            assertTrue(ex.getMessage().contains("volume vol block 2 at offset 8192 failed its checksum"), ex.getMessage());
            assertCode(ErrorCode.CORRUPTION, () -> read(s, B + 10, B)); // any read touching block 2
            assertEquals(2, s.checksumFailures());
            assertArrayEquals(Arrays.copyOfRange(data, B, 2 * B), read(s, B, B));
            assertArrayEquals(Arrays.copyOfRange(data, 3 * B, 4 * B), read(s, 3L * B, B));
            // a partial write into the bad block is refused (its read-modify-write cannot verify) ...
            assertCode(ErrorCode.CORRUPTION, () -> s.write(2L * B + 5, ByteBuffer.wrap(new byte[10])));
            assertEquals(List.of(2L), s.verify());
            assertEquals(List.of(2L), s.verify(1, 3)); // a range finds it too ...
            assertEquals(List.of(), s.verify(3, 100)); // ... and only inside the range (clipped to the volume)
            assertEquals(List.of(), s.verify(0, 2));
            // ... a whole-block write repairs it
            s.write(2L * B, ByteBuffer.wrap(data, 2 * B, B));
            assertArrayEquals(data, readAll(s));
            assertEquals(List.of(), s.verify());
        }
    }

    /** A replica applying its log must not refuse a partial write into a bad block: it stays bad instead. */
    @Test
    void partialWritesOverABadBlockApplyAndLeaveItBadUntilAWholeBlockWrite() throws Exception {
        long size = 8 * B;
        byte[] data = random(new Random(5), (int) size);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
        }
        StoreTesting.flipByte(VolumeFiles.data(tmp.resolve("vol")), 2L * B + 17);
        try (LocalBlockStore s = LocalBlockStore.open(tmp.resolve("vol"), "vol")) {
            byte[] patch = new byte[2 * B];
            Arrays.fill(patch, (byte) 9);
            // head edge in bad block 2, whole block 3, tail edge in good block 4
            s.writeOverBadEdges(2L * B + 100, ByteBuffer.wrap(patch));
            s.writeZeroesOverBadEdges(2L * B + 50, 10, true); // a partial zeroing of the bad block applies too
            assertEquals(List.of(2L), s.verify(), "the bad block stays bad (not adopted), the others are good");
            assertCode(ErrorCode.CORRUPTION, () -> read(s, 2L * B, B));
            byte[] expected = data.clone();
            System.arraycopy(patch, 0, expected, 2 * B + 100, patch.length);
            assertArrayEquals(Arrays.copyOfRange(expected, 3 * B, 5 * B), read(s, 3L * B, 2 * B));
            // On good edges it is an ordinary write.
            s.writeOverBadEdges(5L * B + 7, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            System.arraycopy(new byte[] {1, 2, 3}, 0, expected, 5 * B + 7, 3);
            assertArrayEquals(Arrays.copyOfRange(expected, 5 * B, 6 * B), read(s, 5L * B, B));
            // The repair path: a whole-block write replaces it.
            s.write(2L * B, ByteBuffer.wrap(data, 2 * B, B));
            assertEquals(List.of(), s.verify());
        }
    }

    @Test
    void corruptChecksumSlotIsReportedForThatBlockOnly() throws Exception {
        long size = 8 * B;
        byte[] data = random(new Random(4), (int) size);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
        }
        StoreTesting.flipByte(VolumeFiles.checksums(tmp.resolve("vol")), ChecksumFileLayout.slotOffset(5) + 1);
        try (LocalBlockStore s = LocalBlockStore.open(tmp.resolve("vol"), "vol")) {
            assertCode(ErrorCode.CORRUPTION, () -> read(s, 5L * B, 1));
            assertEquals(1, s.checksumFailures());
            assertArrayEquals(Arrays.copyOfRange(data, 4 * B, 5 * B), read(s, 4L * B, B));
            assertArrayEquals(Arrays.copyOfRange(data, 6 * B, 8 * B), read(s, 6L * B, 2 * B));
            assertEquals(List.of(5L), s.verify());
            assertEquals(2, s.checksumFailures());
        }
    }

    @Test
    void trimFreesSpaceAndReadsZeroesLeavingPartialEdges() throws Exception {
        long size = 512 * B;
        byte[] data = random(new Random(5), (int) size);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
            s.flush();
            long before = s.usedBytes();
            assertTrue(before >= size, "allocated " + before);
            s.trim(100, 256L * B); // covers blocks 1..255 fully, block 0 and 256 partially
            long after = s.usedBytes();
            assertTrue(after <= before - 255L * B, "used " + before + " -> " + after);
            byte[] expect = data.clone();
            Arrays.fill(expect, B, 256 * B, (byte) 0);
            assertArrayEquals(expect, readAll(s));
            s.trim(5, 10); // no whole block: a no-op
            assertArrayEquals(expect, readAll(s));
            assertEquals(List.of(), s.verify());
        }
    }

    @Test
    void writeZeroesWithAndWithoutHole() throws Exception {
        long size = 512 * B;
        byte[] data = random(new Random(6), (int) size);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
            s.flush();
            long full = s.usedBytes();
            s.writeZeroes(10, 200L * B, false); // keeps space
            byte[] expect = data.clone();
            Arrays.fill(expect, 10, 10 + 200 * B, (byte) 0);
            assertArrayEquals(expect, readAll(s));
            assertTrue(s.usedBytes() >= full - B, "no-hole zeroing keeps allocation: " + full + " -> " + s.usedBytes());
            s.writeZeroes(300L * B + 1, 200L * B - 2, true); // frees space
            Arrays.fill(expect, 300 * B + 1, 500 * B - 1, (byte) 0);
            assertArrayEquals(expect, readAll(s));
            assertTrue(s.usedBytes() <= full - 190L * B, "hole punching frees: " + full + " -> " + s.usedBytes());
            assertEquals(List.of(), s.verify());
        }
    }

    @Test
    void resizeGrowsKeepsDataAndPersists() throws Exception {
        long size = 8 * B;
        byte[] data = random(new Random(7), (int) size);
        Path dir = tmp.resolve("vol");
        try (LocalBlockStore s = StoreTesting.newStore(tmp, size, 16)) {
            s.write(0, ByteBuffer.wrap(data));
            s.resize(size); // same size: no-op
            s.resize(40 * B);
            assertEquals(40L * B, s.size());
            byte[] all = readAll(s);
            assertArrayEquals(data, Arrays.copyOf(all, (int) size));
            assertArrayEquals(new byte[32 * B], Arrays.copyOfRange(all, (int) size, all.length));
            s.write(39L * B, ByteBuffer.wrap(data, 0, B));
        }
        try (LocalBlockStore s = LocalBlockStore.open(dir, "vol")) {
            assertEquals(40L * B, s.size());
            assertEquals(40L * B, Files.size(VolumeFiles.data(dir)));
            assertArrayEquals(Arrays.copyOf(data, B), read(s, 39L * B, B));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> s.resize(8 * B));
        }
    }

    @Test
    void checksumTableSpansManyMappedChunks() throws Exception {
        Path dir = tmp.resolve("vol");
        Files.createDirectories(dir);
        VolumeFiles.format(dir, 10 * B, 16, 0);
        byte[] data = random(new Random(8), 100 * B);
        try (LocalBlockStore s = LocalBlockStore.open(dir, "vol", 2)) { // 4 slots per chunk
            s.write(0, ByteBuffer.wrap(data, 0, 10 * B - 3));
            s.resize(100 * B); // remaps the partial last chunk, adds more
            s.write(7L * B + 1, ByteBuffer.wrap(data, 7 * B + 1, 93 * B - 1));
            assertArrayEquals(data, readAll(s));
        }
        try (LocalBlockStore s = LocalBlockStore.open(dir, "vol", 3)) {
            assertArrayEquals(data, readAll(s));
            assertEquals(List.of(), s.verify());
        }
    }

    @Test
    void sameOperationsGiveByteIdenticalStores() throws Exception {
        long size = 64 * B;
        try (LocalBlockStore a = StoreTesting.newStore(tmp.resolve("a"), size, 16);
                LocalBlockStore b = StoreTesting.newStore(tmp.resolve("b"), size, 14)) {
            Random rnd = new Random(9);
            for (int i = 0; i < 300; i++) {
                long off = rnd.nextInt((int) size - 1);
                int len = 1 + rnd.nextInt((int) Math.min(3 * B, size - off));
                switch (rnd.nextInt(4)) {
                    case 0, 1 -> {
                        byte[] d = random(rnd, len);
                        a.write(off, ByteBuffer.wrap(d));
                        b.write(off, ByteBuffer.wrap(d));
                    }
                    case 2 -> {
                        a.trim(off, len);
                        b.trim(off, len);
                    }
                    default -> {
                        boolean hole = rnd.nextBoolean();
                        a.writeZeroes(off, len, hole);
                        b.writeZeroes(off, len, !hole);
                    }
                }
            }
            a.resize(2 * size);
            b.resize(2 * size);
            assertArrayEquals(readAll(a), readAll(b));
        }
    }
}
