package io.ballast.engine.crypt;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A volume whose bytes are encrypted before they reach the volume underneath (for a replicated
 * volume: before they enter the Raft log, so no other node ever sees plaintext) and decrypted after
 * they come back. The underlying volume's first {@code dataOffset} bytes hold the key header; this
 * volume's byte 0 is its byte {@code dataOffset}.
 *
 * <ul>
 *   <li>Whole sectors are encrypted into a fresh buffer (the caller's bytes are not touched) and
 *       written as one request; partial sectors are read, decrypted, patched, encrypted and written
 *       back, ordered per sector ({@link SectorQueue}).</li>
 *   <li>A sector whose ciphertext is all zeroes reads as zeroes: that is a sector never written,
 *       trimmed or zeroed below, which keeps TRIM and WRITE_ZEROES cheap and sparse (as dm-crypt
 *       with discards allowed; it shows which sectors are unused, see docs/security.md). A real
 *       ciphertext of 4096 zero bytes is as likely as guessing the key.</li>
 * </ul>
 *
 * <p>Threading and errors: as {@link BlockVolume}; cipher work runs on the threads that complete
 * the underlying volume's futures (CPU only, no blocking).
 */
public final class EncryptedBlockVolume implements BlockVolume {
    private final BlockVolume raw;
    private final SectorCipher cipher;
    private final long dataOffset;
    private final int sector;
    private final SectorQueue partials = new SectorQueue();
    private volatile boolean closed;

    EncryptedBlockVolume(BlockVolume raw, SectorCipher cipher, long dataOffset) {
        this.raw = raw;
        this.cipher = cipher;
        this.dataOffset = dataOffset;
        this.sector = cipher.sectorSize();
    }

    /** The ciphertext volume underneath. */
    public BlockVolume underlying() {
        return raw;
    }

    @Override
    public String name() {
        return raw.name();
    }

    @Override
    public long size() {
        return raw.size() - dataOffset;
    }

    @Override
    public int blockSize() {
        return sector;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        CompletableFuture<Void> refused = refuse(offset, length);
        if (refused != null) {
            return refused;
        }
        long first = offset / sector;
        if (offset % sector == 0 && length % sector == 0) {
            ByteBuffer view = dst.slice();
            return raw.read(dataOffset + offset, view.duplicate()).thenRun(() -> decryptInPlace(view, first));
        }
        long start = first * sector;
        ByteBuffer whole = ByteBuffer.allocate((int) (alignUp(offset + length) - start));
        return raw.read(dataOffset + start, whole.duplicate()).thenRun(() -> {
            decryptInPlace(whole, first);
            dst.duplicate().put(whole.slice((int) (offset - start), length));
        });
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        int length = src.remaining();
        CompletableFuture<Void> refused = refuse(offset, length);
        if (refused != null) {
            return refused;
        }
        if (offset % sector == 0 && length % sector == 0) {
            return raw.write(dataOffset + offset, encrypt(src.duplicate(), offset / sector, length), fua);
        }
        long start = alignUp(offset);
        long end = alignDown(offset + length);
        if (end <= start) { // within one sector, or across one boundary without a whole sector
            return patch(offset, length, src.duplicate(), fua);
        }
        // Only the partial edge sectors are read back; the whole sectors between are written as they come.
        ByteBuffer in = src.duplicate();
        int headLen = (int) (start - offset);
        int midLen = (int) (end - start);
        ByteBuffer head = in.slice(in.position(), headLen);
        ByteBuffer mid = in.slice(in.position() + headLen, midLen);
        ByteBuffer tail = in.slice(in.position() + headLen + midLen, length - headLen - midLen);
        CompletableFuture<Void> h = headLen > 0 ? patch(offset, headLen, head, fua) : done();
        CompletableFuture<Void> m = raw.write(dataOffset + start, encrypt(mid, start / sector, midLen), fua);
        CompletableFuture<Void> t = tail.hasRemaining() ? patch(end, tail.remaining(), tail, fua) : done();
        return CompletableFuture.allOf(h, m, t);
    }

    /** Read-modify-write of the sectors covering [offset, offset+length), with {@code src} (or zeroes when null) in that range. */
    private CompletableFuture<Void> patch(long offset, int length, ByteBuffer src, boolean fua) {
        long start = alignDown(offset);
        long end = alignUp(offset + length);
        long first = start / sector;
        long last = end / sector - 1;
        long[] edges = first == last ? new long[] {first} : new long[] {first, last};
        return partials.run(edges, () -> {
            ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
            return raw.read(dataOffset + start, whole.duplicate()).thenCompose(x -> {
                decryptInPlace(whole, first);
                ByteBuffer into = whole.duplicate().position((int) (offset - start));
                if (src != null) {
                    into.put(src);
                } else {
                    into.put(new byte[length]);
                }
                return raw.write(dataOffset + start, encrypt(whole.duplicate().clear(), first, whole.capacity()), fua);
            });
        });
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        CompletableFuture<Void> refused = refuse(offset, length);
        if (refused != null) {
            return refused;
        }
        // Partial sectors are left as they are, like the store's partial blocks: TRIM is advisory.
        long start = alignUp(offset);
        long end = alignDown(offset + length);
        return end > start ? raw.trim(dataOffset + start, end - start, fua) : fua ? flush() : CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua) {
        CompletableFuture<Void> refused = refuse(offset, length);
        if (refused != null) {
            return refused;
        }
        long start = alignUp(offset);
        long end = alignDown(offset + length);
        if (end <= start) { // within one sector, or across one sector boundary without a whole sector
            return patch(offset, (int) length, null, fua);
        }
        CompletableFuture<Void> head = start > offset ? patch(offset, (int) (start - offset), null, fua) : done();
        CompletableFuture<Void> tail = end < offset + length ? patch(end, (int) (offset + length - end), null, fua) : done();
        // An all-zero ciphertext sector reads as zeroes: the middle needs no encryption.
        CompletableFuture<Void> middle = raw.writeZeroes(dataOffset + start, end - start, mayPunchHole, fua);
        return CompletableFuture.allOf(head, middle, tail);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return closed ? closedFuture() : raw.flush();
    }

    @Override
    public CompletableFuture<Void> resize(long newSize) {
        if (closed) {
            return closedFuture();
        }
        if (newSize < 0 || newSize > Long.MAX_VALUE - dataOffset) {
            return CompletableFuture.failedFuture(new BallastException(ErrorCode.OUT_OF_RANGE, "size " + newSize));
        }
        return raw.resize(newSize + dataOffset);
    }

    @Override
    public boolean flushCoversAllConnections() {
        return raw.flushCoversAllConnections();
    }

    /** Closes the volume underneath too. */
    @Override
    public void close() {
        closed = true;
        raw.close();
    }

    @Override
    public String toString() {
        return "EncryptedBlockVolume[" + raw + ", " + SectorCipher.NAME + "]";
    }

    private ByteBuffer encrypt(ByteBuffer plain, long firstSector, int length) {
        ByteBuffer out = ByteBuffer.allocate(length);
        for (int i = 0; i < length / sector; i++) {
            cipher.encrypt(firstSector + i, plain, out);
        }
        return out.flip();
    }

    private void decryptInPlace(ByteBuffer buf, long firstSector) {
        ByteBuffer in = buf.duplicate().clear();
        ByteBuffer out = buf.duplicate().clear();
        int sectors = buf.capacity() / sector;
        for (int i = 0; i < sectors; i++) {
            if (allZero(in, in.position(), sector)) {
                in.position(in.position() + sector);
                out.position(out.position() + sector); // zeroes stay zeroes
            } else {
                cipher.decrypt(firstSector + i, in, out);
            }
        }
    }

    private static boolean allZero(ByteBuffer b, int from, int length) {
        int i = from;
        int end = from + length;
        for (; i + 8 <= end; i += 8) {
            if (b.getLong(i) != 0) {
                return false;
            }
        }
        for (; i < end; i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** A failed future for a request outside the volume, malformed or after close; null when it may go on. */
    private CompletableFuture<Void> refuse(long offset, long length) {
        try {
            checkRange(offset, length);
            return null;
        } catch (BallastException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void checkRange(long offset, long length) {
        if (closed) {
            throw closedError();
        }
        if (length < 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "negative length " + length);
        }
        long size = size();
        if (offset < 0 || offset > size || length > size - offset) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "range [" + offset + ", +" + length + ") is outside volume "
                    + name() + " of " + size + " bytes");
        }
    }

    private long alignDown(long x) {
        return x / sector * sector;
    }

    private long alignUp(long x) {
        return (x + sector - 1) / sector * sector;
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    private CompletableFuture<Void> closedFuture() {
        return CompletableFuture.failedFuture(closedError());
    }

    private BallastException closedError() {
        return new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + name() + " is closed");
    }
}
