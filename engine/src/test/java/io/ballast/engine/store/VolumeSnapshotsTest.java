package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static io.ballast.engine.store.StoreTesting.assertCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.VolumeSnapshots.SnapshotInfo;
import io.ballast.engine.store.VolumeSnapshots.Taken;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeSnapshotsTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;
    private NodeDirectory node;
    private final Random rnd = new Random(42);

    @BeforeEach
    void open() {
        node = NodeDirectory.openOrFormat(tmp.resolve("node"), "c", "n1");
    }

    @AfterEach
    void close() {
        node.close();
    }

    private static byte[] read(SnapshotReader r, long off, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        r.read(off, b);
        return b.array();
    }

    private Path snapshotDir(String volume, String id) {
        return node.path().resolve("snapshots").resolve(volume).resolve(id);
    }

    @Test
    void snapshotHoldsThePointInTimeNotLaterWrites() {
        try (LocalBlockStore s = node.createVolume("v", 16 * MIB)) {
            byte[] a = StoreTesting.random(rnd, 64 * B);
            s.write(3 * MIB, ByteBuffer.wrap(a));
            s.write(100, ByteBuffer.wrap(new byte[] {1, 2, 3})); // unaligned: a read-modify-written edge block
            Taken t = node.snapshots().take(s, "s1", 7, 1234);
            assertFalse(t.alreadyComplete());
            assertEquals(new SnapshotInfo("v", "s1", 16 * MIB, 7, 1234, true), t.snapshot());

            byte[] b = StoreTesting.random(rnd, 64 * B);
            s.write(3 * MIB, ByteBuffer.wrap(b)); // after the snapshot
            s.trim(0, B);
            try (SnapshotReader r = node.snapshots().open("v", "s1")) {
                assertArrayEquals(a, read(r, 3 * MIB, a.length));
                byte[] first = read(r, 0, B);
                assertArrayEquals(new byte[] {1, 2, 3}, java.util.Arrays.copyOfRange(first, 100, 103));
                assertArrayEquals(new byte[8 * B], read(r, 8 * MIB, 8 * B), "never written: zeroes");
                assertArrayEquals(b, StoreTesting.read(s, 3 * MIB, b.length), "the volume goes on");
            }
        }
    }

    @Test
    void copyIsSparseAndReaderSkipsHoles() {
        try (LocalBlockStore s = node.createVolume("big", 256 * MIB)) {
            s.write(100 * MIB, ByteBuffer.wrap(StoreTesting.random(rnd, (int) MIB)));
            s.write(200 * MIB, ByteBuffer.wrap(StoreTesting.random(rnd, 4 * B)));
            Taken t = node.snapshots().take(s, "thin", 1, 0);
            Path data = snapshotDir("big", "thin").resolve("data");
            try (NativeIo.NativeFile f = NativeIo.openReadOnly(data)) {
                long allocated = f.allocatedBytes();
                assertTrue(allocated <= 2 * MIB, "a 256 MiB volume holding ~1 MiB must copy sparse, allocated " + allocated);
            }
            assertEquals(256 * MIB, data.toFile().length());
            if (t.method().equals("sparse copy")) {
                assertTrue(t.dataBytesCopied() <= 2 * MIB, "copied only data extents: " + t.dataBytesCopied());
            } else {
                assertEquals("reflink", t.method());
            }
            try (SnapshotReader r = node.snapshots().open("big", "thin")) {
                long first = r.nextData(0);
                assertTrue(first >= 0 && first <= 100 * MIB, "first data at " + first);
                assertTrue(r.nextHole(100 * MIB) >= 101 * MIB);
                assertTrue(r.nextData(101 * MIB) <= 200 * MIB);
                assertEquals(-1, r.nextData(201 * MIB), "nothing after the last write");
            }
        }
    }

    @Test
    void interruptedCopyIsListedIncompleteNeverServedAndRedone() throws Exception {
        byte[] a = StoreTesting.random(rnd, 32 * B);
        try (LocalBlockStore s = node.createVolume("v", 8 * MIB)) {
            s.write(MIB, ByteBuffer.wrap(a));
            // What a crash mid-copy leaves: the first record (no COMPLETE) and a partial data file.
            Path dir = snapshotDir("v", "s1");
            Files.createDirectories(dir);
            Durable.writeAtomically(dir.resolve(SnapshotMetaLayout.FILE_NAME),
                    SnapshotMetaLayout.encode(new SnapshotMetaLayout.Meta(8 * MIB, 5, 99, false)));
            Files.write(dir.resolve("data"), new byte[3 * B]);
            // And one that crashed before even its first record.
            Files.createDirectories(snapshotDir("v", "s2"));

            assertEquals(List.of(new SnapshotInfo("v", "s1", 8 * MIB, 5, 99, false),
                    new SnapshotInfo("v", "s2", 0, -1, 0, false)), node.snapshots().list("v"));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> node.snapshots().open("v", "s1"));
            assertCode(ErrorCode.FAILED_PRECONDITION, () -> node.snapshots().open("v", "s2"));

            Taken redone = node.snapshots().take(s, "s1", 5, 99);
            assertFalse(redone.alreadyComplete());
            assertTrue(redone.snapshot().complete());
            try (SnapshotReader r = node.snapshots().open("v", "s1")) {
                assertArrayEquals(a, read(r, MIB, a.length));
            }
        }
        node.close();
        node = NodeDirectory.openOrFormat(tmp.resolve("node"), "c", "n1"); // survives a reopen
        assertTrue(node.snapshots().get("v", "s1").orElseThrow().complete());
        assertFalse(node.snapshots().get("v", "s2").orElseThrow().complete());
    }

    @Test
    void takeIsIdempotentPerTagAndDeleteIsIdempotent() {
        try (LocalBlockStore s = node.createVolume("v", 4 * MIB)) {
            node.snapshots().take(s, "s1", 10, 0);
            s.write(0, ByteBuffer.wrap(StoreTesting.random(rnd, B)));
            Taken again = node.snapshots().take(s, "s1", 10, 0);
            assertTrue(again.alreadyComplete(), "same id and tag: a replay, nothing copied");
            try (SnapshotReader r = node.snapshots().open("v", "s1")) {
                assertArrayEquals(new byte[B], read(r, 0, B), "not re-copied from the later state");
            }
            assertCode(ErrorCode.ALREADY_EXISTS, () -> node.snapshots().take(s, "s1", 11, 0));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> node.snapshots().take(s, "../x", 12, 0));
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> node.snapshots().take(s, "", 12, 0));
            assertCode(ErrorCode.NOT_FOUND, () -> node.snapshots().open("v", "nope"));

            node.snapshots().delete("v", "s1");
            node.snapshots().delete("v", "s1");
            node.snapshots().delete("other", "s1");
            assertEquals(List.of(), node.snapshots().list("v"));
        }
    }

    @Test
    void aScrubOfACopyFindsItsBadBlocksAndARepairFromAGoodCopyHealsThem() throws Exception {
        byte[] a = StoreTesting.random(rnd, 8 * B);
        try (LocalBlockStore s = node.createVolume("v", 4 * MIB)) {
            s.write(0, ByteBuffer.wrap(a));
            s.write(3 * MIB, ByteBuffer.wrap(a, 0, B));
            node.snapshots().take(s, "s1", 5, 0);
        }
        StoreTesting.flipByte(snapshotDir("v", "s1").resolve("data"), 6 * B + 1);
        StoreTesting.flipByte(snapshotDir("v", "s1").resolve("checksums"), ChecksumFileLayout.slotOffset(3 * MIB / B));
        try (SnapshotReader r = node.snapshots().open("v", "s1")) {
            assertEquals(List.of(6L, 3 * MIB / B), r.verify(0, 4 * MIB / B), "a bad data block and a bad slot");
            assertEquals(List.of(), r.verify(7, 3 * MIB / B), "a range past both finds nothing");
        }
        assertCode(ErrorCode.NOT_FOUND, () -> node.snapshots().repairBlock("v", "s1", 4, 6, ByteBuffer.wrap(a, 6 * B, B)));
        node.snapshots().repairBlock("v", "s1", 5, 6, ByteBuffer.wrap(a, 6 * B, B));
        node.snapshots().repairBlock("v", "s1", 5, 3 * MIB / B, ByteBuffer.wrap(a, 0, B));
        try (SnapshotReader r = node.snapshots().open("v", "s1")) {
            assertEquals(List.of(), r.verify(0, 4 * MIB / B));
            assertArrayEquals(a, read(r, 0, 8 * B));
        }
    }

    @Test
    void corruptSnapshotBlockIsRefusedNotServed() throws Exception {
        try (LocalBlockStore s = node.createVolume("v", 4 * MIB)) {
            s.write(0, ByteBuffer.wrap(StoreTesting.random(rnd, 4 * B)));
            node.snapshots().take(s, "s1", 1, 0);
        }
        StoreTesting.flipByte(snapshotDir("v", "s1").resolve("data"), 2 * B + 17);
        try (SnapshotReader r = node.snapshots().open("v", "s1")) {
            read(r, 0, 2 * B);
            assertCode(ErrorCode.CORRUPTION, () -> read(r, 0, 4 * B));
            assertEquals(1, r.checksumFailures());
            assertCode(ErrorCode.INVALID_ARGUMENT, () -> read(r, 100, B));
            assertCode(ErrorCode.OUT_OF_RANGE, () -> read(r, 4 * MIB, B));
        }
    }

    /**
     * A reader with a repair hands it each block that fails its checksum and serves the block once it
     * reads back good; a repair that finds no good copy, or claims one and leaves the block bad,
     * fails the read with CORRUPTION, never returns the bad bytes.
     */
    @Test
    void aRepairingReaderServesARepairedBlockAndRefusesOneStillBad() throws Exception {
        byte[] a = StoreTesting.random(rnd, 8 * B);
        try (LocalBlockStore s = node.createVolume("v", 4 * MIB)) {
            s.write(0, ByteBuffer.wrap(a));
            node.snapshots().take(s, "s1", 5, 0);
        }
        StoreTesting.flipByte(snapshotDir("v", "s1").resolve("data"), 2 * B + 9);
        List<Long> asked = new java.util.ArrayList<>();
        try (SnapshotReader r = node.snapshots().open("v", "s1")) {
            r.repairingWith(block -> {
                asked.add(block);
                return false;
            });
            assertCode(ErrorCode.CORRUPTION, () -> read(r, 0, 4 * B));
            r.repairingWith(block -> {
                asked.add(block);
                return true; // claims a repair, rewrites nothing
            });
            assertCode(ErrorCode.CORRUPTION, () -> read(r, 0, 4 * B));
            r.repairingWith(block -> {
                asked.add(block);
                node.snapshots().repairBlock("v", "s1", 5, block, ByteBuffer.wrap(a, (int) block * B, B));
                return true;
            });
            assertArrayEquals(a, read(r, 0, 8 * B));
            assertEquals(List.of(2L, 2L, 2L), asked);
            assertEquals(3, r.checksumFailures());
            assertArrayEquals(a, read(r, 0, 8 * B), "good on disk now: no repair asked");
            assertEquals(3, asked.size());
        }
    }

    @Test
    void deletingTheVolumeDeletesItsSnapshots() {
        try (LocalBlockStore s = node.createVolume("v", 4 * MIB)) {
            node.snapshots().take(s, "s1", 1, 0);
            node.snapshots().take(s, "s2", 2, 0);
        }
        assertEquals(2, node.snapshots().list("v").size());
        node.deleteVolume("v");
        assertEquals(List.of(), node.snapshots().list("v"));
        assertFalse(Files.exists(node.path().resolve("snapshots/v")));
    }
    /**
     * A copy of a snapshot received from another node (here: read from this node's own copy of it,
     * holes skipped, and written into a second node directory) reads back byte for byte, is
     * sparse, lists only once installed, and a receive abandoned before its install leaves nothing.
     */
    @Test
    void aSnapshotReceivedChunkByChunkReadsBackLikeTheOriginalAndOnlyListsOnceInstalled() throws Exception {
        byte[] a = StoreTesting.random(rnd, (int) MIB);
        byte[] b = StoreTesting.random(rnd, 3 * B);
        try (LocalBlockStore s = node.createVolume("v", 64 * MIB)) {
            s.write(5 * MIB, ByteBuffer.wrap(a));
            s.write(40 * MIB + 8 * B, ByteBuffer.wrap(b));
            node.snapshots().take(s, "s1", 9, 4321);
        }
        try (NodeDirectory other = NodeDirectory.openOrFormat(tmp.resolve("other"), "c", "n2");
                SnapshotReader source = node.snapshots().open("v", "s1")) {
            SnapshotReceiver abandoned = other.snapshots().receive("v", "s1", 64 * MIB, 9, 4321);
            assertEquals(4 * B, abandoned.write(0, ByteBuffer.wrap(a, 0, 4 * B)));
            ByteBuffer mixed = ByteBuffer.allocate(3 * B);
            mixed.put(B, (byte) 1);
            assertEquals(B, abandoned.write(50 * MIB, mixed), "only the non-zero block of three is written");
            abandoned.close();
            assertEquals(List.of(), other.snapshots().list("v"), "an abandoned receive lists nothing");
            try (var left = Files.list(other.path().resolve("snapshots").resolve("v"))) {
                assertEquals(0, left.count(), "and leaves nothing behind");
            }

            SnapshotReceiver r = other.snapshots().receive("v", "s1", 64 * MIB, 9, 4321);
            for (long pos = source.nextData(0); pos >= 0; pos = source.nextData(pos)) {
                long end = Math.min(source.nextHole(pos), source.size());
                for (long at = pos; at < end; at += MIB) {
                    ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(MIB, end - at));
                    source.read(at, chunk);
                    r.write(at, chunk.flip());
                }
                pos = end;
                if (pos >= source.size()) {
                    break;
                }
            }
            assertEquals(0, r.write(60 * MIB, ByteBuffer.allocate(8 * B)), "zero blocks stay holes");
            assertEquals(List.of(), other.snapshots().list("v"), "not listed before the install");
            SnapshotInfo installed = other.snapshots().install(r);
            assertEquals(new SnapshotInfo("v", "s1", 64 * MIB, 9, 4321, true), installed);
            assertEquals(List.of(installed), other.snapshots().list("v"));
            try (SnapshotReader copy = other.snapshots().open("v", "s1")) {
                for (long at = 0; at < 64 * MIB; at += 4 * MIB) {
                    assertArrayEquals(read(source, at, (int) (4 * MIB)), read(copy, at, (int) (4 * MIB)), "at " + at);
                }
            }
            try (NativeIo.NativeFile f = NativeIo.openReadOnly(other.path().resolve("snapshots/v/s1/data"))) {
                assertTrue(f.allocatedBytes() <= 2 * MIB, "sparse: " + f.allocatedBytes());
            }

            SnapshotReceiver again = other.snapshots().receive("v", "s1", 64 * MIB, 9, 4321);
            assertEquals(installed, other.snapshots().install(again), "a complete copy with the same tag stays");
            SnapshotReceiver otherTag = other.snapshots().receive("v", "s1", 64 * MIB, 10, 4321);
            assertCode(ErrorCode.ALREADY_EXISTS, () -> other.snapshots().install(otherTag));
            try (var left = Files.list(other.path().resolve("snapshots").resolve("v"))) {
                assertEquals(List.of("s1"), left.map(p -> p.getFileName().toString()).toList(), "no staging left");
            }
        }
    }
}
