package io.ballast.replication.entry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.ExtentSource;
import io.ballast.replication.entry.VolumeLogLayout.Op;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EntryDataJournalTest {
    private static final long FILE = 64 << 10;
    @TempDir
    Path dir;

    private static ByteString data(long index, long term, int len) {
        byte[] b = new byte[len];
        new Random(index * 31 + term).nextBytes(b);
        return ByteString.copyFrom(b);
    }

    private EntryDataJournal open(AtomicLong release) throws IOException {
        return new EntryDataJournal(dir, FILE, release::get, "test");
    }

    @Test
    void appendedEntriesAreReadBackAfterReopenAcrossFiles() throws IOException {
        AtomicLong release = new AtomicLong(0);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        try (EntryDataJournal j = open(release)) {
            for (long i = 1; i <= 40; i++) {
                writes.add(j.append(i, 1, data(i, 1, 5000 + (int) i)));
            }
            writes.forEach(CompletableFuture::join);
            assertEquals(data(7, 1, 5007), j.read(7, 1));
            assertEquals(5, j.files(), "40 records of ~5 KiB, padded to 8 KiB, in 64 KiB files");
        }
        try (EntryDataJournal j = open(release)) {
            assertEquals(40, j.entries());
            for (long i = 1; i <= 40; i++) {
                assertEquals(data(i, 1, 5000 + (int) i), j.read(i, 1), "entry " + i);
            }
        }
    }

    @Test
    void anEntryIsFoundByIndexAndTermAndATruncatedOneIsForgotten() throws IOException {
        try (EntryDataJournal j = open(new AtomicLong())) {
            j.append(1, 1, data(1, 1, 100)).join();
            j.append(2, 1, data(2, 1, 100)).join();
            j.truncate(1).join();
            assertThrows(BallastException.class, () -> j.read(2, 1));
            j.append(2, 2, data(2, 2, 300)).join();
            assertEquals(data(2, 2, 300), j.read(2, 2));
            BallastException e = assertThrows(BallastException.class, () -> j.read(2, 3));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        }
        // After a crash the truncated record is back on disk; it is still the right data for (2, 1).
        try (EntryDataJournal j = open(new AtomicLong())) {
            assertEquals(data(2, 1, 100), j.read(2, 1));
            assertEquals(data(2, 2, 300), j.read(2, 2));
        }
    }

    @Test
    void filesBelowTheReleaseIndexAreRecycledAndThoseNotNeededForThatDeleted() throws IOException {
        AtomicLong release = new AtomicLong(0);
        try (EntryDataJournal j = open(release)) {
            for (long i = 1; i <= 40; i++) {
                j.append(i, 1, data(i, 1, 6000)).join();
            }
            int before = j.files();
            release.set(1000); // every entry is below the log's start now
            for (long i = 41; i <= 120; i++) {
                j.append(i, 1, data(i, 1, 6000)).join();
            }
            assertEquals(5, before);
            // One dead file is recycled at each rotation, the other dead ones deleted: the journal
            // shrinks back to what it holds instead of keeping its peak size.
            assertEquals(2, j.files(), "the file written and the one recycled before it");
            assertEquals(data(120, 1, 6000), j.read(120, 1));
            assertThrows(BallastException.class, () -> j.read(3, 1), "recycled");
        }
        try (EntryDataJournal j = open(release)) {
            assertEquals(data(119, 1, 6000), j.read(119, 1));
            j.append(121, 1, data(121, 1, 6000)).join();
        }
        try (EntryDataJournal j = open(release)) {
            assertEquals(data(121, 1, 6000), j.read(121, 1));
            assertEquals(data(118, 1, 6000), j.read(118, 1));
        }
    }

    @Test
    void aTornTailIsIgnoredAndOverwritten() throws IOException {
        try (EntryDataJournal j = open(new AtomicLong())) {
            j.append(1, 1, data(1, 1, 1000)).join();
            j.append(2, 1, data(2, 1, 1000)).join();
        }
        Path file;
        try (Stream<Path> s = Files.list(dir)) {
            file = s.findFirst().orElseThrow();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), JournalRecordLayout.ALIGN + JournalRecordLayout.HEADER + 500);
        }
        try (EntryDataJournal j = open(new AtomicLong())) {
            assertEquals(data(1, 1, 1000), j.read(1, 1));
            assertThrows(BallastException.class, () -> j.read(2, 1), "its record fails its CRC");
            j.append(2, 1, data(2, 1, 1000)).join();
            j.append(3, 1, data(3, 1, 1000)).join();
        }
        try (EntryDataJournal j = open(new AtomicLong())) {
            assertArrayEquals(data(3, 1, 1000).toByteArray(), j.read(3, 1).toByteArray());
        }
    }

    @Test
    void theLargeWritesOfARecordAreFoundOnDiskWhereTheStoreCanShareThemAlsoAfterReopen() throws IOException {
        byte[] payload = data(5, 1, 128 << 10).toByteArray();
        ByteString entry = UnsafeByteOperations.unsafeWrap(VolumeLogLayout.ops(1, List.of(
                new Op(VolumeLogLayout.OP_WRITE, (byte) 0, 1 << 20, payload.length, ByteBuffer.wrap(payload)))));
        Path journal = dir.resolve("big");
        for (int round = 0; round < 2; round++) {
            try (EntryDataJournal j = new EntryDataJournal(journal, 1 << 20, () -> 0, "test")) {
                if (round == 0) {
                    j.append(4, 1, data(4, 1, 1000)).join();
                    j.append(5, 1, entry).join();
                }
                assertEquals(entry, j.read(5, 1));
                try (PlacedWrites none = j.placed(4, 1)) {
                    assertNull(none.of(0), "no OPS entry, nothing placed");
                }
                try (PlacedWrites placed = j.placed(5, 1)) {
                    ExtentSource at = placed.of(0);
                    assertEquals(0, at.position() % 4096, "round " + round);
                    Path file;
                    try (Stream<Path> s = Files.list(journal)) {
                        file = s.findFirst().orElseThrow();
                    }
                    ByteBuffer onDisk = ByteBuffer.allocate(payload.length);
                    try (FileChannel ch = FileChannel.open(file)) {
                        ch.read(onDisk, at.position());
                    }
                    assertArrayEquals(payload, onDisk.array(), "round " + round);
                    assertNull(placed.of(1));
                }
            }
        }
    }

    @Test
    void anEntryLargerThanAFileIsRefused() throws IOException {
        try (EntryDataJournal j = open(new AtomicLong())) {
            CompletableFuture<Void> f = j.append(1, 1, data(1, 1, (int) FILE));
            assertThrows(Exception.class, f::join);
            j.append(2, 1, data(2, 1, 10)).join(); // the journal goes on
        }
    }
}
