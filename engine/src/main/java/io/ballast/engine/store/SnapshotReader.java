package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.NativeIo.NativeFile;
import io.ballast.engine.store.VolumeSnapshots.SnapshotInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A complete local snapshot opened read-only: block-aligned reads verified against the snapshot's
 * own checksums (a block that fails is CORRUPTION, never data), and the data extents of its sparse
 * data file ({@link #nextData}/{@link #nextHole}) so a reader can skip what was never written.
 * The reader itself never writes to the snapshot's files (a repair set with {@link #repairingWith}
 * may rewrite a bad block).
 *
 * <p>Threading: thread-safe (positional reads only). Errors: {@link BallastException}
 * INVALID_ARGUMENT for unaligned requests, OUT_OF_RANGE outside the snapshot, CORRUPTION for a
 * block failing its checksum, IO_ERROR from the disk, FAILED_PRECONDITION after close.
 */
public final class SnapshotReader implements AutoCloseable {
    private static final int B = LocalBlockStore.BLOCK_SIZE;

    private final SnapshotInfo info;
    private final Path dir;
    private final FileChannel data;
    private final FileChannel checksums;
    private final NativeFile nativeData;
    private final AtomicLong checksumFailures = new AtomicLong();
    private volatile BadBlockRepair repair;
    private volatile boolean closed;

    /**
     * Asked for a block of this snapshot that failed its checksum: rewrites the block in the
     * snapshot's files with a good copy from elsewhere (a peer replica's copy of the same snapshot)
     * and answers true, or false when no good copy was found. It must not throw.
     */
    @FunctionalInterface
    public interface BadBlockRepair {
        boolean repair(long block);
    }

    private SnapshotReader(SnapshotInfo info, Path dir, FileChannel data, FileChannel checksums, NativeFile nativeData) {
        this.info = info;
        this.dir = dir;
        this.data = data;
        this.checksums = checksums;
        this.nativeData = nativeData;
    }

    static SnapshotReader open(Path dir, SnapshotInfo info) {
        FileChannel data = null;
        FileChannel sums = null;
        try {
            data = FileChannel.open(VolumeFiles.data(dir), StandardOpenOption.READ);
            sums = FileChannel.open(VolumeFiles.checksums(dir), StandardOpenOption.READ);
            ByteBuffer header = ByteBuffer.allocate(ChecksumFileLayout.HEADER_LENGTH);
            readFully(sums, header, 0);
            ChecksumFileLayout.checkHeader(header.flip(), VolumeFiles.checksums(dir));
            if (data.size() < info.sizeBytes()) {
                throw new BallastException(ErrorCode.CORRUPTION, "snapshot data file " + VolumeFiles.data(dir) + " is "
                        + data.size() + " bytes, shorter than the snapshot's " + info.sizeBytes());
            }
            return new SnapshotReader(info, dir, data, sums, NativeIo.openReadOnly(VolumeFiles.data(dir)));
        } catch (IOException | RuntimeException e) {
            closeQuietly(data, e);
            closeQuietly(sums, e);
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw Durable.ioError("open snapshot " + info.id() + " of " + info.volume() + " in " + dir, (IOException) e);
        }
    }

    public SnapshotInfo info() {
        return info;
    }

    public long size() {
        return info.sizeBytes();
    }

    /**
     * From now on, a block that fails its checksum on {@link #read} is handed to {@code r} and read
     * again once repaired, instead of failing the read (a clone's fill or a backup would otherwise
     * fail on one rotten block while peers hold good copies). Returns this reader.
     */
    public SnapshotReader repairingWith(BadBlockRepair r) {
        this.repair = Objects.requireNonNull(r, "r");
        return this;
    }

    /** Blocks that failed their checksum on reads so far. */
    public long checksumFailures() {
        return checksumFailures.get();
    }

    /**
     * Fills {@code dst} (position to limit, a multiple of 4096) with the snapshot's bytes at
     * {@code offset} (a multiple of 4096), verifying every block.
     */
    public void read(long offset, ByteBuffer dst) {
        Objects.requireNonNull(dst, "dst");
        checkOpen();
        int len = dst.remaining();
        if (offset % B != 0 || len % B != 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "snapshot reads are block-aligned: offset "
                    + offset + ", length " + len);
        }
        if (offset < 0 || offset > size() || len > size() - offset) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "range [" + offset + ", +" + len
                    + ") is outside snapshot " + info.id() + " of " + size() + " bytes");
        }
        int blocks = len / B;
        ByteBuffer slots = ByteBuffer.allocate(blocks * ChecksumFileLayout.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer run = dst.slice(dst.position(), len);
        try {
            readFully(data, run, offset);
            readFully(checksums, slots, ChecksumFileLayout.slotOffset(offset / B)); // short file: zero slots
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + info.id() + " of " + info.volume() + ": read at " + offset, e);
        }
        for (int i = 0; i < blocks; i++) {
            int stored = slots.getInt(i * ChecksumFileLayout.SLOT_SIZE);
            int actual = ChecksumFileLayout.slotOf(run.slice(i * B, B));
            if (stored != actual) {
                checksumFailures.incrementAndGet();
                long block = offset / B + i;
                if (!repairedAndReadAgain(block, run.slice(i * B, B))) {
                    throw new BallastException(ErrorCode.CORRUPTION, String.format("snapshot %s of volume %s: block %d at "
                            + "offset %d failed its checksum (stored 0x%08x, computed 0x%08x)", info.id(), info.volume(),
                            block, block * B, stored, actual));
                }
            }
        }
        dst.position(dst.position() + len);
    }

    /** With a repair set: the block repaired, read again into {@code into} and verified; else false. */
    private boolean repairedAndReadAgain(long block, ByteBuffer into) {
        BadBlockRepair r = repair;
        if (r == null || !r.repair(block)) {
            return false;
        }
        ByteBuffer slot = ByteBuffer.allocate(ChecksumFileLayout.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        try {
            readFully(data, into.clear(), block * B);
            readFully(checksums, slot, ChecksumFileLayout.slotOffset(block));
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + info.id() + " of " + info.volume() + ": read block " + block
                    + " again after its repair", e);
        }
        return slot.getInt(0) == ChecksumFileLayout.slotOf(into.clear());
    }

    /**
     * The stored checksum slots of {@code blocks} blocks from {@code firstBlock} (4 bytes each, as
     * on disk; zero for a never-written block): two snapshots of one volume whose slots for a range
     * are equal hold, but for a CRC32C collision, the same bytes there, which an incremental backup
     * uses to skip reading unchanged ranges.
     */
    public byte[] checksumSlots(long firstBlock, int blocks) {
        checkOpen();
        if (firstBlock < 0 || blocks < 0 || (firstBlock + blocks) * B > size() + B - 1) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "blocks [" + firstBlock + ", +" + blocks
                    + ") are outside snapshot " + info.id() + " of " + size() + " bytes");
        }
        ByteBuffer slots = ByteBuffer.allocate(blocks * ChecksumFileLayout.SLOT_SIZE);
        try {
            readFully(checksums, slots, ChecksumFileLayout.slotOffset(firstBlock));
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + info.id() + " of " + info.volume() + ": read checksums at block " + firstBlock, e);
        }
        return slots.array();
    }

    /**
     * Checks the checksums of blocks [fromBlock, toBlock) and returns the failing block numbers,
     * ascending (a scrub of the copy; holes are skipped: they read as zeroes with zero slots).
     */
    public java.util.List<Long> verify(long fromBlock, long toBlock) {
        checkOpen();
        java.util.List<Long> bad = new java.util.ArrayList<>();
        int step = 256;
        ByteBuffer buf = ByteBuffer.allocate(step * B);
        ByteBuffer slots = ByteBuffer.allocate(step * ChecksumFileLayout.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long end = Math.min(toBlock, size() / B);
        for (long b = fromBlock; b < end; ) {
            long dataAt = nextData(b * B);
            if (dataAt < 0 || dataAt / B >= end) {
                break;
            }
            b = Math.max(b, dataAt / B);
            int n = (int) Math.min(step, end - b);
            buf.clear().limit(n * B);
            slots.clear().limit(n * ChecksumFileLayout.SLOT_SIZE);
            try {
                readFully(data, buf, b * B);
                readFully(checksums, slots, ChecksumFileLayout.slotOffset(b));
            } catch (IOException e) {
                throw Durable.ioError("snapshot " + info.id() + " of " + info.volume() + ": verify at block " + b, e);
            }
            for (int i = 0; i < n; i++) {
                if (slots.getInt(i * ChecksumFileLayout.SLOT_SIZE) != ChecksumFileLayout.slotOf(buf.slice(i * B, B))) {
                    checksumFailures.incrementAndGet();
                    bad.add(b + i);
                }
            }
            b += n;
        }
        return bad;
    }

    /** The first offset at or after {@code from} that may hold data, or -1 when none does (the rest is a hole). */
    public long nextData(long from) {
        checkOpen();
        long at = nativeData.seekData(from);
        return at < 0 || at >= size() ? -1 : at & -B;
    }

    /** The first offset at or after {@code from} where a hole starts (the snapshot's size at most). */
    public long nextHole(long from) {
        checkOpen();
        long at = nativeData.seekHole(from);
        return Math.min(size(), (at + B - 1) & -B);
    }

    /** Reads until {@code buf} is full; beyond the end of the file it fills zeroes. */
    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        long p = pos;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, p);
            if (n < 0) {
                while (buf.hasRemaining()) {
                    buf.put((byte) 0);
                }
                break;
            }
            p += n;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "snapshot " + info.id() + " reader is closed");
        }
    }

    private static void closeQuietly(AutoCloseable c, Exception into) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                into.addSuppressed(e);
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            data.close();
            checksums.close();
        } catch (IOException e) {
            throw Durable.ioError("close snapshot " + info.id() + " in " + dir, e);
        } finally {
            nativeData.close();
        }
    }
}
