package io.ballast.engine.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link BlockVolume} must show (see its Javadoc). Extend it with a factory
 * for your implementation; the volume is closed after each test.
 */
public abstract class BlockVolumeContractTest {
    protected static final int B = 4096;
    protected static final long SIZE = 64L * B;

    protected BlockVolume volume;

    /** A fresh, empty volume of {@code sizeBytes}. */
    protected abstract BlockVolume newVolume(long sizeBytes) throws Exception;

    @BeforeEach
    void openVolume() throws Exception {
        volume = newVolume(SIZE);
    }

    @AfterEach
    void closeVolume() {
        volume.close();
    }

    protected static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw BallastException.of(e);
        }
    }

    protected static void assertFails(ErrorCode code, CompletableFuture<?> f) {
        BallastException e = assertThrows(BallastException.class, () -> await(f));
        assertEquals(code, e.code(), e::getMessage);
    }

    protected byte[] read(long off, int len) {
        ByteBuffer buf = ByteBuffer.allocate(len);
        await(volume.read(off, buf));
        return buf.array();
    }

    protected void write(long off, byte[] data, boolean fua) {
        await(volume.write(off, ByteBuffer.wrap(data), fua));
    }

    @Test
    void describesItself() {
        assertNotNull(volume.name());
        assertEquals(SIZE, volume.size());
        assertEquals(4096, volume.blockSize());
    }

    @Test
    void freshVolumeReadsZeroes() {
        assertArrayEquals(new byte[(int) SIZE], read(0, (int) SIZE));
    }

    @Test
    void writesAreReadBackAtAnyAlignment() {
        byte[] model = new byte[(int) SIZE];
        Random rnd = new Random(1);
        for (long off : new long[] {0, 1, 4095, 4096, 10_000}) {
            for (int len : new int[] {1, 512, 4096, 4097, 3 * B + 5}) {
                byte[] d = new byte[len];
                rnd.nextBytes(d);
                write(off, d, rnd.nextBoolean());
                System.arraycopy(d, 0, model, (int) off, len);
                assertArrayEquals(d, read(off, len));
            }
        }
        await(volume.flush());
        assertArrayEquals(model, read(0, (int) SIZE));
    }

    @Test
    void outOfRangeAndMalformedRequestsFailAndChangeNothing() {
        byte[] data = new byte[(int) SIZE];
        new Random(2).nextBytes(data);
        write(0, data, false);
        assertFails(ErrorCode.OUT_OF_RANGE, volume.read(SIZE - 1, ByteBuffer.allocate(2)));
        assertFails(ErrorCode.OUT_OF_RANGE, volume.write(SIZE, ByteBuffer.allocate(1), false));
        assertFails(ErrorCode.OUT_OF_RANGE, volume.write(-1, ByteBuffer.allocate(1), false));
        assertFails(ErrorCode.OUT_OF_RANGE, volume.trim(B, SIZE, false));
        assertFails(ErrorCode.OUT_OF_RANGE, volume.writeZeroes(0, SIZE + 1, true, false));
        assertFails(ErrorCode.INVALID_ARGUMENT, volume.trim(0, -1, false));
        assertArrayEquals(data, read(0, (int) SIZE));
    }

    @Test
    void trimAndWriteZeroesReadAsZeroes() {
        byte[] data = new byte[(int) SIZE];
        new Random(3).nextBytes(data);
        write(0, data, false);
        await(volume.trim(0, 4L * B, false)); // whole blocks
        await(volume.writeZeroes(10L * B + 7, 2L * B, true, false));
        await(volume.writeZeroes(20L * B - 3, 5, false, true));
        Arrays.fill(data, 0, 4 * B, (byte) 0);
        Arrays.fill(data, 10 * B + 7, 12 * B + 7, (byte) 0);
        Arrays.fill(data, 20 * B - 3, 20 * B + 2, (byte) 0);
        assertArrayEquals(data, read(0, (int) SIZE));
    }

    @Test
    void resizeGrowsAndRefusesShrink() {
        write(SIZE - 3, new byte[] {7, 8, 9}, false);
        await(volume.resize(2 * SIZE));
        assertEquals(2 * SIZE, volume.size());
        assertArrayEquals(new byte[] {7, 8, 9, 0, 0}, read(SIZE - 3, 5));
        assertArrayEquals(new byte[(int) SIZE], read(SIZE, (int) SIZE));
        assertFails(ErrorCode.FAILED_PRECONDITION, volume.resize(SIZE));
        assertFails(ErrorCode.OUT_OF_RANGE, volume.resize(3 * SIZE + 1));
        assertEquals(2 * SIZE, volume.size());
    }

    @Test
    void concurrentRequestsOnDistinctBlocksAllLand() {
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int b = 0; b < SIZE / B; b++) {
            byte[] d = new byte[B];
            Arrays.fill(d, (byte) b);
            writes.add(volume.write((long) b * B, ByteBuffer.wrap(d), false));
        }
        await(CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)));
        await(volume.flush());
        byte[] all = read(0, (int) SIZE);
        for (int i = 0; i < all.length; i++) {
            assertEquals((byte) (i / B), all[i], "byte " + i);
        }
    }

    @Test
    void closedVolumeRefuses() {
        volume.close();
        CompletableFuture<Void> f;
        try {
            f = volume.read(0, ByteBuffer.allocate(1));
        } catch (BallastException e) {
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            return;
        }
        CompletionException ce = assertThrows(CompletionException.class, f::join);
        assertTrue(ce.getCause() instanceof BallastException be && be.code() == ErrorCode.FAILED_PRECONDITION,
                String.valueOf(ce.getCause()));
    }
}
