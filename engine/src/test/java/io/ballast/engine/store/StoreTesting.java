package io.ballast.engine.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.function.Executable;

/** Helpers for store tests. */
final class StoreTesting {
    static final int B = LocalBlockStore.BLOCK_SIZE;

    private StoreTesting() {}

    /** Formats a volume directory under {@code parent} and opens it. */
    static LocalBlockStore newStore(Path parent, long size, int regionShift) throws IOException {
        Path dir = parent.resolve("vol");
        Files.createDirectories(dir);
        VolumeFiles.format(dir, size, regionShift, 0);
        return LocalBlockStore.open(dir, "vol");
    }

    static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    static byte[] readAll(LocalBlockStore s) {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) s.size());
        s.read(0, buf);
        byte[] out = new byte[buf.capacity()];
        buf.flip().get(out);
        return out;
    }

    static byte[] read(LocalBlockStore s, long off, int len) {
        ByteBuffer buf = ByteBuffer.allocate(len);
        s.read(off, buf);
        return buf.array();
    }

    static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x5A);
        }
    }

    static void overwrite(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.write(bytes);
        }
    }

    static BallastException assertCode(ErrorCode code, Executable e) {
        BallastException ex = assertThrows(BallastException.class, e);
        assertEquals(code, ex.code(), ex::getMessage);
        return ex;
    }
}
