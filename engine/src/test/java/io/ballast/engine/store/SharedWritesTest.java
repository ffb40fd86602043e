package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writes whose bytes a journal file already holds: shared extents on xfs, written bytes elsewhere. */
class SharedWritesTest {
    @TempDir
    Path tmp;
    private final Random rnd = new Random(7);

    /** A "journal" file holding {@code bytes} at {@code position}, durably. */
    private static Path source(Path dir, long position, byte[] bytes) throws IOException {
        Path p = dir.resolve("journal-1");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), position);
            ch.force(false);
        }
        return p;
    }

    @Test
    void onXfsTheWholeBlocksOfAWriteShareTheJournalsExtentsAndOutliveThem() throws Exception {
        try (XfsScratch xfs = XfsScratch.mount(tmp, 1L << 30)) {
            byte[] aligned = StoreTesting.random(rnd, 64 * B);
            byte[] unaligned = StoreTesting.random(rnd, 16 * B);
            Path journal = source(xfs.root(), 3 * B, aligned);
            try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
                // At 512 past a block, as the volume offset below: its whole blocks line up.
                ch.write(ByteBuffer.wrap(unaligned), 80L * B + 512);
                ch.force(false);
            }
            try (LocalBlockStore s = StoreTesting.newStore(xfs.root(), 64L << 20, 20);
                    NativeIo.NativeFile j = NativeIo.openReadOnly(journal)) {
                s.writeOverBadEdges(5L << 20, ByteBuffer.wrap(aligned), new ExtentSource(j, 3 * B));
                assertEquals(64L * B, s.sharedBytes(), "every block of an aligned write shared");
                s.writeOverBadEdges(9L * B + 512, ByteBuffer.wrap(unaligned), new ExtentSource(j, 80L * B + 512));
                assertEquals(64L * B + 15 * B, s.sharedBytes(), "the 15 whole blocks of an unaligned one; its edges written");
                s.writeOverBadEdges(200L * B, ByteBuffer.wrap(aligned), new ExtentSource(j, 3 * B + 512));
                assertEquals(79L * B, s.sharedBytes(), "lined up unlike the volume offset: written, not shared");
                s.flush();
                assertArrayEquals(aligned, StoreTesting.read(s, 5L << 20, aligned.length));
                assertArrayEquals(unaligned, StoreTesting.read(s, 9L * B + 512, unaligned.length));
                assertArrayEquals(aligned, StoreTesting.read(s, 200L * B, aligned.length));
            }
            // The journal recycles its file (writes over it), then deletes it: the store keeps its bytes.
            try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[128 * B]), 0);
                ch.force(false);
            }
            Files.delete(journal);
            try (LocalBlockStore s = LocalBlockStore.open(xfs.root().resolve("vol"), "vol")) {
                assertArrayEquals(aligned, StoreTesting.read(s, 5L << 20, aligned.length));
                assertArrayEquals(unaligned, StoreTesting.read(s, 9L * B + 512, unaligned.length));
                assertEquals(java.util.List.of(), s.verify(), "every checksum matches");
                byte[] small = StoreTesting.random(rnd, B);
                s.write((5L << 20) + 7 * B, ByteBuffer.wrap(small)); // an overwrite of a shared block
                assertArrayEquals(small, StoreTesting.read(s, (5L << 20) + 7 * B, B));
            }
        }
    }

    @Test
    void whereTheFilesystemCannotShareTheBytesAreWritten() throws IOException {
        byte[] bytes = StoreTesting.random(rnd, 32 * B);
        Path journal = source(tmp, 0, bytes);
        try (LocalBlockStore s = StoreTesting.newStore(tmp, 16L << 20, 20);
                NativeIo.NativeFile j = NativeIo.openReadOnly(journal)) {
            boolean reflinks;
            try (NativeIo.NativeFile probe = NativeIo.open(Files.createFile(tmp.resolve("probe")))) {
                reflinks = probe.cloneFrom(j);
            }
            s.writeOverBadEdges(B, ByteBuffer.wrap(bytes), new ExtentSource(j, 0));
            s.writeOverBadEdges(100L * B, ByteBuffer.wrap(bytes), new ExtentSource(j, 0));
            assertEquals(reflinks ? 64L * B : 0, s.sharedBytes(), "this filesystem " + (reflinks ? "shares" : "copies"));
            assertArrayEquals(bytes, StoreTesting.read(s, B, bytes.length));
            assertArrayEquals(bytes, StoreTesting.read(s, 100L * B, bytes.length));
            assertTrue(s.verify().isEmpty());
        }
    }
}
