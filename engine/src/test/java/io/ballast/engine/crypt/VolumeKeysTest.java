package io.ballast.engine.crypt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.engine.volume.MemoryBlockVolume;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Key slots on an in-memory volume: format on first unlock, reopen, wrong passphrases and
 * unencrypted data refused with nothing changed, rotation, a damaged header, and ciphertext that
 * never shows the plaintext.
 */
class VolumeKeysTest {
    private static final long MIB = 1 << 20;
    private static final byte[] MARKER = "ballast-marker-7f3a9c".getBytes(StandardCharsets.US_ASCII);

    private final ExecutorService io = Executors.newFixedThreadPool(4);
    private final VolumeKeys keys = new VolumeKeys(new SecureRandom(), 1000);
    private final MemoryBlockVolume raw = new MemoryBlockVolume("vol", 4 * MIB, io);

    @AfterEach
    void stop() {
        io.shutdown();
    }

    @Test
    void formatsABlankVolumeAndReopensItWithTheSamePassphrase() {
        VolumeKeys.Unlocked first = keys.unlock(raw, Passphrases.of("secret-1"));
        assertEquals(VolumeKeys.Outcome.FORMATTED, first.outcome());
        assertEquals(3 * MIB, first.volume().size());
        byte[] data = markerSectors(3);
        await(first.volume().write(8192, ByteBuffer.wrap(data), true));

        VolumeKeys.Unlocked again = keys.unlock(raw, Passphrases.of("secret-1"));
        assertEquals(VolumeKeys.Outcome.OPENED, again.outcome());
        assertArrayEquals(data, read(again.volume(), 8192, data.length));
        assertFalse(contains(read(raw, 0, (int) raw.size()), MARKER), "the marker is stored in the clear");
    }

    @Test
    void aWrongPassphraseIsRefusedAndChangesNothing() {
        BlockVolume v = keys.unlock(raw, Passphrases.of("right")).volume();
        await(v.write(0, ByteBuffer.wrap(markerSectors(1)), true));
        byte[] before = read(raw, 0, (int) raw.size());
        BallastException e = assertThrows(BallastException.class, () -> keys.unlock(raw, Passphrases.of("wrong")));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("opens none of its 1 key slot"), e.getMessage());
        assertArrayEquals(before, read(raw, 0, (int) raw.size()));
    }

    @Test
    void aVolumeWrittenUnencryptedIsNotFormattedOver() {
        await(raw.write(MIB - 4096, ByteBuffer.wrap(MARKER), true)); // data inside the header region
        byte[] before = read(raw, 0, (int) raw.size());
        BallastException e = assertThrows(BallastException.class, () -> keys.unlock(raw, Passphrases.of("any")));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("written unencrypted"), e.getMessage());
        assertArrayEquals(before, read(raw, 0, (int) raw.size()));
    }

    @Test
    void rotationMovesTheKeyToTheNewPassphraseAndRetiresTheOld() {
        BlockVolume v = keys.unlock(raw, Passphrases.of("old")).volume();
        byte[] data = markerSectors(2);
        await(v.write(0, ByteBuffer.wrap(data), true));

        VolumeKeys.Unlocked rotated = keys.unlock(raw, Passphrases.of("new", "old"));
        assertEquals(VolumeKeys.Outcome.ROTATED, rotated.outcome());
        assertArrayEquals(data, read(rotated.volume(), 0, data.length));
        assertEquals(VolumeKeys.Outcome.OPENED, keys.unlock(raw, Passphrases.of("new", "old")).outcome());
        assertEquals(ErrorCode.INVALID_ARGUMENT,
                assertThrows(BallastException.class, () -> keys.unlock(raw, Passphrases.of("old"))).code());
        assertArrayEquals(data, read(keys.unlock(raw, Passphrases.of("new")).volume(), 0, data.length));
    }

    @Test
    void aDamagedHeaderIsCorruptionNotAFreshFormat() {
        keys.unlock(raw, Passphrases.of("p"));
        byte[] header = read(raw, 0, 4096);
        header[200] ^= 1; // inside slot 0
        await(raw.write(0, ByteBuffer.wrap(header), true));
        assertEquals(ErrorCode.CORRUPTION,
                assertThrows(BallastException.class, () -> keys.unlock(raw, Passphrases.of("p"))).code());
        assertArrayEquals(header, read(raw, 0, 4096));
    }

    @Test
    void concurrentPartialWritesIntoOneSectorAllLand() {
        BlockVolume v = keys.unlock(raw, Passphrases.of("p")).volume();
        for (int round = 0; round < 20; round++) {
            byte[] expected = new byte[4096];
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int part = 0; part < 8; part++) {
                byte[] d = new byte[512];
                java.util.Arrays.fill(d, (byte) (round * 8 + part + 1));
                System.arraycopy(d, 0, expected, part * 512, 512);
                writes.add(v.write(4096L * 5 + part * 512, ByteBuffer.wrap(d), false));
            }
            await(CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)));
            assertArrayEquals(expected, read(v, 4096L * 5, 4096), "round " + round);
        }
    }

    private static byte[] markerSectors(int sectors) {
        byte[] b = new byte[sectors * 4096];
        for (int i = 0; i + MARKER.length <= b.length; i += 64) {
            System.arraycopy(MARKER, 0, b, i, MARKER.length);
        }
        return b;
    }

    static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static byte[] read(BlockVolume v, long off, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        await(v.read(off, b));
        return b.array();
    }

    private static void await(CompletableFuture<?> f) {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw BallastException.of(e);
        }
    }
}
