package io.ballast.replication.rebuild;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A replica's integrity findings kept on disk ({@code integrity-record} in its state machine
 * directory), so that a restart neither forgets blocks known to have no healthy copy (the volume
 * would read as healthy while data is lost, until something read that block again) nor resets the
 * counters. File: magic, the three counters, the number of blocks, the blocks, CRC32C (a
 * {@link SealedFile}). A damaged file reads as none (the next scrub finds the blocks again).
 *
 * @param found        blocks found failing their checksum (once per repair attempt)
 * @param repaired     blocks rewritten from a healthy peer's copy
 * @param unrepairable repair attempts that found no healthy copy
 * @param badBlocks    blocks known bad here with no healthy copy, ascending
 */
public record IntegrityRecord(long found, long repaired, long unrepairable, long[] badBlocks) {
    private static final int MAGIC = 0x42494e54; // "BINT"
    private static final int HEADER = Integer.BYTES + 3 * Long.BYTES + Integer.BYTES;
    /** Blocks kept at most (512 KiB of file): beyond that the volume is lost anyway; the count stays exact in memory. */
    static final int MAX_BLOCKS = 65_536;

    public static final IntegrityRecord NONE = new IntegrityRecord(0, 0, 0, new long[0]);

    public IntegrityRecord {
        badBlocks = badBlocks.clone();
        Arrays.sort(badBlocks);
    }

    public void write(Path file) throws IOException {
        int n = Math.min(badBlocks.length, MAX_BLOCKS);
        ByteBuffer b = ByteBuffer.allocate(HEADER + n * Long.BYTES);
        b.putInt(MAGIC).putLong(found).putLong(repaired).putLong(unrepairable).putInt(n);
        for (int i = 0; i < n; i++) {
            b.putLong(badBlocks[i]);
        }
        SealedFile.write(file, b.flip());
    }

    /** The record in {@code file}: {@link #NONE} when there is none, null when it is damaged. */
    public static IntegrityRecord read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return NONE;
        }
        ByteBuffer b = SealedFile.read(file);
        if (b == null || b.remaining() < HEADER || b.getInt(0) != MAGIC) {
            return null;
        }
        int n = b.getInt(HEADER - Integer.BYTES);
        if (n < 0 || n > MAX_BLOCKS || b.remaining() != HEADER + n * Long.BYTES) {
            return null;
        }
        long[] blocks = new long[n];
        for (int i = 0; i < n; i++) {
            blocks[i] = b.getLong(HEADER + i * Long.BYTES);
        }
        return new IntegrityRecord(b.getLong(4), b.getLong(12), b.getLong(20), blocks);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntegrityRecord r && found == r.found && repaired == r.repaired
                && unrepairable == r.unrepairable && Arrays.equals(badBlocks, r.badBlocks);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(found) * 31 + Arrays.hashCode(badBlocks);
    }

    @Override
    public String toString() {
        return "IntegrityRecord[found=" + found + ", repaired=" + repaired + ", unrepairable=" + unrepairable
                + ", badBlocks=" + Arrays.toString(badBlocks) + "]";
    }
}
