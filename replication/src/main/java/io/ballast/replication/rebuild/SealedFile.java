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
 * The small records a replica keeps beside its store (scrub record, clean-stop mark, region
 * generations, integrity record): the record's bytes followed by their CRC32C, written to a
 * temporary file, fsynced and renamed over the old one, so a reader finds the old record or the new
 * one whole, and a damaged one is told apart from a good one.
 */
final class SealedFile {
    private SealedFile() {}

    /** Replaces {@code file} with {@code body} (position to limit) and its CRC32C. */
    static void write(Path file, ByteBuffer body) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(body.remaining() + Integer.BYTES).put(body.duplicate());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue()).flip();
        try {
            Durable.writeAtomically(file, b);
        } catch (BallastException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The body {@link #write} wrote (position 0), or null when the file is missing or damaged. */
    static ByteBuffer read(Path file) throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (all.length < Integer.BYTES) {
            return null;
        }
        int n = all.length - Integer.BYTES;
        CRC32C crc = new CRC32C();
        crc.update(all, 0, n);
        if ((int) crc.getValue() != ByteBuffer.wrap(all).getInt(n)) {
            return null;
        }
        return ByteBuffer.wrap(all, 0, n).slice();
    }
}
