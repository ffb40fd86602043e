package io.ballast.replication.rebuild;

import io.ballast.engine.store.Durable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A replica's note, written at a clean stop after its store's final fsync, of the applied index
 * the store then held durably; read at the next start. A restart loads only the last checkpoint,
 * so without the note a replica rebuilt incrementally after a planned reboot would ask for every
 * region changed since that checkpoint. Deleted before the store is written again
 * ({@link ChangeTracker}): a replay from the checkpoint rewrites regions with older values on its
 * way, and a crash then must not find the note. Not deleted at the start itself: a division that
 * Ratis or a watchdog reopens in the same process, or an install that fails before it copies,
 * still needs it. File: index (8), CRC32C (4).
 */
public final class CleanStopMark {
    private CleanStopMark() {}

    public static void write(Path file, long appliedIndex) throws IOException {
        SealedFile.write(file, ByteBuffer.allocate(Long.BYTES).putLong(appliedIndex).flip());
    }

    /** The noted index, or -1 (no note, or a damaged one). */
    public static long read(Path file) throws IOException {
        ByteBuffer b = SealedFile.read(file);
        return b != null && b.remaining() == Long.BYTES ? b.getLong(0) : -1;
    }

    /** Removes the note durably (absent: nothing to do). */
    public static void delete(Path file) throws IOException {
        if (Files.deleteIfExists(file)) {
            Durable.fsyncDirectory(file.getParent());
        }
    }
}
