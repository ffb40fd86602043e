package io.ballast.replication.rebuild;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What a replica keeps on disk about its scrubs, so that the schedule ({@link ScrubSchedule})
 * holds across restarts: a node restarted every few days would otherwise never reach a weekly
 * scrub, or would scrub every replica at each start. File: the five longs, CRC32C (44 bytes,
 * a {@link SealedFile}); a missing or damaged file counts as "tracked since now".
 *
 * @param trackedSinceMillis when this record was first written (a replica never scrubbed is due one
 *                           interval after it)
 * @param lastCompletedMillis when the last full pass ended (0: never)
 * @param lastCorrupt        corrupt blocks that pass found
 * @param lastUnrepairable   of those, blocks it could not repair
 * @param resumeFromBytes    where a scheduled pass stopped by a node stop goes on (0: from the start)
 */
public record ScrubRecord(long trackedSinceMillis, long lastCompletedMillis, long lastCorrupt, long lastUnrepairable,
        long resumeFromBytes) {
    private static final int BODY = 5 * Long.BYTES;

    /** A replica first seen at {@code nowMillis}: never scrubbed. */
    public static ScrubRecord fresh(long nowMillis) {
        return new ScrubRecord(nowMillis, 0, 0, 0, 0);
    }

    /** When the next scheduled pass is due: one interval after the last pass, or after tracking began. */
    public long dueAtMillis(Duration interval) {
        return (lastCompletedMillis > 0 ? lastCompletedMillis : trackedSinceMillis) + interval.toMillis();
    }

    public ScrubRecord completed(long atMillis, long corrupt, long unrepairable) {
        return new ScrubRecord(trackedSinceMillis, atMillis, corrupt, unrepairable, 0);
    }

    public ScrubRecord stoppedAt(long bytes) {
        return new ScrubRecord(trackedSinceMillis, lastCompletedMillis, lastCorrupt, lastUnrepairable, bytes);
    }

    public void write(Path file) throws IOException {
        SealedFile.write(file, ByteBuffer.allocate(BODY).putLong(trackedSinceMillis).putLong(lastCompletedMillis)
                .putLong(lastCorrupt).putLong(lastUnrepairable).putLong(resumeFromBytes).flip());
    }

    /** The record in {@code file}, or null when there is none or it is damaged. */
    public static ScrubRecord read(Path file) throws IOException {
        ByteBuffer b = SealedFile.read(file);
        if (b == null || b.remaining() != BODY) {
            return null;
        }
        return new ScrubRecord(b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32));
    }
}
