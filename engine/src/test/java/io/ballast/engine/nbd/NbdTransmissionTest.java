package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.Wire.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.MemoryBlockVolume;
import io.ballast.engine.volume.MemoryBlockVolume.Call;
import io.ballast.engine.volume.MemoryBlockVolume.Op;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Golden-frame tests of the transmission phase: commands, flags, ordering, malformed requests. */
class NbdTransmissionTest {
    private static final int MIB = 1 << 20;
    private static final int EPERM = 1, EIO = 5, EINVAL = 22, ENOSPC = 28;
    private final MemoryBlockVolume disk = new MemoryBlockVolume("disk", MIB);
    private byte[] original;

    @BeforeEach
    void seed() {
        disk.fill(0, pattern(MIB, 3));
        original = disk.bytes(0, MIB);
    }

    private NbdTestChannel open() {
        NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk));
        c.handshake("disk");
        return c;
    }

    private void assertUnchanged() {
        assertArrayEquals(original, disk.bytes(0, MIB), "volume content changed");
    }

    private List<Call> mutations() {
        return disk.calls().stream().filter(c -> c.op() != Op.READ).toList();
    }

    @Test
    void writeThenReadGoldenFrames() {
        try (NbdTestChannel c = open()) {
            c.send(hex("25609513 0000 0001 00000000000000aa 0000000000001000 00000004 | deadbeef"));
            c.expect(hex("67446698 00000000 00000000000000aa"));
            c.send(hex("25609513 0000 0000 00000000000000bb 0000000000000ffe 00000008"));
            c.expect(concat(hex("67446698 00000000 00000000000000bb"), disk.bytes(0xffe, 2), hex("deadbeef"),
                    disk.bytes(0x1004, 2)));
            assertEquals(List.of(new Call(Op.WRITE, 0x1000, 4, false, false)), mutations());
            NbdStats stats = c.counters.snapshot();
            assertEquals(2, stats.requests());
            assertEquals(8, stats.bytesRead());
            assertEquals(4, stats.bytesWritten());
        }
    }

    @Test
    void flushTrimWriteZeroesAndFuaReachTheVolume() {
        try (NbdTestChannel c = open()) {
            c.send(request(0, 3, 1, 0, 0),                       // FLUSH
                    request(1, 4, 2, 8192, 8192),                 // TRIM + FUA
                    request(0, 6, 3, 0, 4096),                    // WRITE_ZEROES (may punch hole)
                    request(2 | 1, 6, 4, 4096, 4096),             // WRITE_ZEROES + NO_HOLE + FUA
                    write(1, 5, 100, pattern(10, 9)),             // WRITE + FUA
                    request(1, 0, 6, 0, 0),                       // READ of 0 bytes, FUA accepted and ignored
                    request(1, 3, 7, 0, 0));                      // FLUSH + FUA
            c.expect(concat(reply(0, 1), reply(0, 2), reply(0, 3), reply(0, 4), reply(0, 5), reply(0, 6),
                    reply(0, 7)));
            assertEquals(List.of(
                    new Call(Op.FLUSH, 0, 0, false, false),
                    new Call(Op.TRIM, 8192, 8192, true, true),
                    new Call(Op.WRITE_ZEROES, 0, 4096, false, true),
                    new Call(Op.WRITE_ZEROES, 4096, 4096, true, false),
                    new Call(Op.WRITE, 100, 10, true, false),
                    new Call(Op.FLUSH, 0, 0, false, false)), mutations());
            assertArrayEquals(new byte[100], disk.bytes(0, 100));
            assertArrayEquals(pattern(10, 9), disk.bytes(100, 10));
            assertArrayEquals(new byte[8192 - 110], disk.bytes(110, 8192 - 110));
            assertArrayEquals(new byte[8192], disk.bytes(8192, 8192)); // trimmed blocks read as zeroes here
        }
    }

    @Test
    void fuaWriteIsDurableWithoutFlushAndPlainWriteIsNot() {
        try (NbdTestChannel c = open()) {
            c.send(request(0, 3, 1, 0, 0));
            c.send(write(1, 2, 0, pattern(16, 50)), write(0, 3, 8192, pattern(16, 60)));
            c.expect(concat(reply(0, 1), reply(0, 2), reply(0, 3)));
        }
        disk.crash();
        assertArrayEquals(pattern(16, 50), disk.bytes(0, 16));
        assertArrayEquals(java.util.Arrays.copyOfRange(original, 8192, 8208), disk.bytes(8192, 16));
    }

    @Test
    void repliesLeaveInCompletionOrder() {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        disk.interceptor(call -> call.offset() == 0 ? gate : null);
        try (NbdTestChannel c = open()) {
            c.send(request(0, 0, 0xA, 0, 4), request(0, 0, 0xB, 4096, 4), write(0, 0xC, 8192, pattern(4, 1)));
            c.expect(concat(reply(0, 0xB), disk.bytes(4096, 4), reply(0, 0xC)));
            gate.complete(null);
            c.expect(concat(reply(0, 0xA), disk.bytes(0, 4)));
        }
    }

    @Test
    void discWaitsForInFlightRequestsThenCloses() {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        disk.interceptor(call -> gate);
        try (NbdTestChannel c = open()) {
            c.send(write(0, 1, 0, pattern(8, 1)), request(0, 2, 2, 0, 0), request(0, 0, 3, 0, 8));
            assertArrayEquals(new byte[0], c.drain());
            assertTrue(c.ch.isOpen(), "must not close with a request in flight");
            gate.complete(null);
            c.expect(reply(0, 1));
            assertFalse(c.ch.isOpen());
            assertEquals(1, disk.calls().size(), "the READ after DISC must be ignored");
        }
    }

    @Test
    void volumeFailuresMapToNbdErrors() {
        Map<Long, ErrorCode> failures = Map.of(0L, ErrorCode.CORRUPTION, 4096L, ErrorCode.NO_SPACE,
                8192L, ErrorCode.UNAVAILABLE, 12288L, ErrorCode.OUT_OF_RANGE);
        disk.interceptor(call -> failures.containsKey(call.offset())
                ? CompletableFuture.failedFuture(new BallastException(failures.get(call.offset()), "injected"))
                : null);
        try (NbdTestChannel c = open()) {
            c.send(request(0, 0, 1, 0, 512), write(0, 2, 4096, pattern(512, 1)), request(0, 6, 3, 8192, 512),
                    write(0, 4, 12288, pattern(512, 1)), request(0, 0, 5, 12288, 512));
            c.expect(concat(reply(EIO, 1), reply(ENOSPC, 2), reply(108, 3), reply(ENOSPC, 4), reply(EINVAL, 5)));
            assertEquals(Map.of(EIO, 1L, ENOSPC, 2L, 108, 1L, EINVAL, 1L), c.counters.snapshot().errorsByErrno());
        }
        assertUnchanged();
    }

    @Test
    void outOfRangeRequestsAreRejectedAndChangeNothing() {
        try (NbdTestChannel c = open()) {
            c.send(request(0, 0, 1, MIB - 4, 8),                    // READ past the end
                    write(0, 2, MIB - 4, pattern(8, 1)),             // WRITE past the end: payload skipped
                    request(0, 4, 3, MIB, 1),                        // TRIM past the end
                    request(0, 6, 4, MIB + 4096, 4096),              // WRITE_ZEROES past the end
                    request(0, 0, 5, 0xFFFFFFFFFFFFF000L, 0x2000),   // READ with offset + length wrapping 2^64
                    write(0, 6, 0xFFFFFFFFFFFFFFF0L, pattern(32, 1)), // WRITE wrapping 2^64
                    request(0, 0, 7, 0x8000000000000000L, 1),        // offset above Long.MAX_VALUE
                    request(0, 0, 8, MIB, 0),                        // zero-length READ at the end: fine
                    request(0, 0, 9, 0, 4));                         // still in sync
            c.expect(concat(reply(EINVAL, 1), reply(ENOSPC, 2), reply(EINVAL, 3), reply(ENOSPC, 4),
                    reply(EINVAL, 5), reply(EINVAL, 6), reply(EINVAL, 7), reply(0, 8), reply(0, 9),
                    java.util.Arrays.copyOf(original, 4)));
        }
        assertTrue(mutations().isEmpty());
        assertUnchanged();
    }

    @Test
    void unknownCommandsAndFlagsAreEinval() {
        try (NbdTestChannel c = open()) {
            c.send(request(0, 9, 1, 0, 0),                    // unknown command
                    request(0, 5, 2, 0, 4096),                 // CACHE: not advertised
                    request(0, 7, 3, 0, 4096),                 // BLOCK_STATUS: not negotiated
                    request(4, 0, 4, 0, 512),                  // READ + DF (no structured replies)
                    write(2, 5, 0, pattern(16, 1)),           // WRITE + NO_HOLE: payload skipped
                    request(16, 6, 6, 0, 4096),                // WRITE_ZEROES + FAST_ZERO: not advertised
                    request(0x8000, 3, 7, 0, 0),               // FLUSH + unknown bit
                    request(0, 3, 8, 4096, 0),                 // FLUSH with nonzero offset
                    request(0, 0, 9, 0, 4));
            c.expect(concat(reply(EINVAL, 1), reply(EINVAL, 2), reply(EINVAL, 3), reply(EINVAL, 4),
                    reply(EINVAL, 5), reply(EINVAL, 6), reply(EINVAL, 7), reply(EINVAL, 8), reply(0, 9),
                    java.util.Arrays.copyOf(original, 4)));
            assertTrue(c.ch.isOpen());
        }
        assertTrue(mutations().isEmpty());
        assertUnchanged();
    }

    @Test
    void badRequestMagicDisconnects() {
        try (NbdTestChannel c = open()) {
            byte[] bad = write(0, 1, 0, pattern(8, 1));
            bad[0] = 0x26;
            c.send(bad);
            assertArrayEquals(new byte[0], c.drain());
            assertFalse(c.ch.isOpen());
        }
        assertTrue(disk.calls().isEmpty());
        assertUnchanged();
    }

    @Test
    void oversizedWriteGetsEinvalThenDisconnectWithoutAllocatingThePayload() {
        try (NbdTestChannel c = open()) {
            c.send(request(0, 0, 1, 0, 64 * 1024 + 1));        // oversized READ: EINVAL, stays open
            c.expect(reply(EINVAL, 1));
            assertTrue(c.ch.isOpen());
            c.send(concat(request(0, 1, 2, 0, 0x7fffffff), pattern(4096, 1)));
            c.expect(reply(EINVAL, 2));
            assertFalse(c.ch.isOpen());
            assertTrue(c.alloc.largest() <= 64 * 1024, "allocated " + c.alloc.largest());
        }
        assertTrue(disk.calls().isEmpty());
        assertUnchanged();
    }

    @Test
    void truncatedFrameOnCloseAppliesNothing() {
        try (NbdTestChannel c = open()) {
            byte[] w = write(0, 1, 0, pattern(8192, 1));
            c.send(java.util.Arrays.copyOf(w, 28 + 5000));
            c.ch.close();
            assertArrayEquals(new byte[0], c.drain());
        }
        try (NbdTestChannel c = open()) {
            c.send(java.util.Arrays.copyOf(request(0, 0, 1, 0, 8), 20)); // half a header
            c.ch.close();
            assertArrayEquals(new byte[0], c.drain());
        }
        assertTrue(disk.calls().isEmpty());
        assertUnchanged();
    }

    @Test
    void backPressureStopsReadingAtTheInFlightCapAndResumes() {
        ConcurrentHashMap<Long, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();
        disk.interceptor(call -> gates.computeIfAbsent(call.offset(), k -> new CompletableFuture<>()));
        NbdServerConfig config = NbdServerConfig.unix(java.nio.file.Path.of("/unused")).withMaxPayload(64 * 1024)
                .withInFlightLimits(2, 1 << 20);
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk), config)) {
            c.handshake("disk");
            assertTrue(c.ch.config().isAutoRead());
            c.send(request(0, 0, 1, 0, 4));
            assertTrue(c.ch.config().isAutoRead());
            c.send(request(0, 0, 2, 4096, 4));
            assertFalse(c.ch.config().isAutoRead(), "two in flight: reading must stop");
            gates.get(0L).complete(null);
            c.expect(concat(reply(0, 1), java.util.Arrays.copyOf(original, 4)));
            assertTrue(c.ch.config().isAutoRead(), "below the cap again");
            gates.get(4096L).complete(null);
            c.drain();
        }
    }

    @Test
    void writeLargerThanOneReadArrivesInPiecesAndIsAppliedOnce() {
        try (NbdTestChannel c = open()) {
            byte[] data = pattern(64 * 1024, 77);
            byte[] frame = write(0, 1, 4096, data);
            for (int i = 0; i < frame.length; i += 1000) {
                c.send(java.util.Arrays.copyOfRange(frame, i, Math.min(frame.length, i + 1000)));
            }
            c.expect(reply(0, 1));
            assertArrayEquals(data, disk.bytes(4096, data.length));
            assertEquals(1, mutations().size());
        }
    }
}
