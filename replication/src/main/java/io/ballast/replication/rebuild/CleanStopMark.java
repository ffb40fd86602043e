package io.ballast.replication.rebuild;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.store.Durable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * A replica's note, written at a clean stop after its store's final fsync, of the applied index
 * the store then held durably; taken (read and deleted) at the next start. A restart loads only
 * the last checkpoint, so without the note a replica rebuilt incrementally after a planned reboot
 * would ask for every region changed since that checkpoint. Deleted before anything is applied
 * again: a replay from the checkpoint rewrites regions with older values on its way, and a crash
 * then must not find the note. File: index (8), CRC32C (4).
 */
public final class CleanStopMark {
    private CleanStopMark() {}

    public static void write(Path file, long appliedIndex) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(12).putLong(appliedIndex);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 8);
        b.putInt((int) crc.getValue()).flip();
        try {
            Durable.writeAtomically(file, b);
        } catch (BallastException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The noted index, or -1 (no note, or a damaged one); the note is gone afterwards. */
    public static long take(Path file) throws IOException {
        long index = -1;
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 0, Math.min(8, b.capacity()));
            if (b.capacity() == 12 && (int) crc.getValue() == b.getInt(8)) {
                index = b.getLong(0);
            }
        } catch (NoSuchFileException e) {
            return -1;
        }
        Files.delete(file);
        Durable.fsyncDirectory(file.getParent());
        return index;
    }
}
