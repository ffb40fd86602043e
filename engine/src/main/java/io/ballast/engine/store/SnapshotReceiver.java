package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.VolumeSnapshots.SnapshotInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A copy of a snapshot another node holds, written here chunk by chunk into a staging directory
 * ({@link VolumeSnapshots#receive}) and made a snapshot of this node by {@link VolumeSnapshots#install}.
 * The files are those {@link VolumeSnapshots#take} makes: a sparse data file, and a checksum file
 * whose slots this computes from the bytes received (a range never written stays a hole with zero
 * slots, which read as zeroes). Until installed, nothing lists or opens the staging directory, and
 * {@link #close} without an install deletes it. Threading: one writer.
 */
public final class SnapshotReceiver implements AutoCloseable {
    private static final int B = LocalBlockStore.BLOCK_SIZE;
    private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocate(B).asReadOnlyBuffer();

    private final Path staging;
    private final SnapshotInfo target;
    private final FileChannel data;
    private final FileChannel checksums;
    private boolean finished;
    private boolean installed;

    private SnapshotReceiver(Path staging, SnapshotInfo target, FileChannel data, FileChannel checksums) {
        this.staging = staging;
        this.target = target;
        this.data = data;
        this.checksums = checksums;
    }

    static SnapshotReceiver create(Path staging, SnapshotInfo target) {
        FileChannel data = null;
        try {
            Files.createDirectories(staging);
            data = FileChannel.open(VolumeFiles.data(staging), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            FileChannel sums = FileChannel.open(VolumeFiles.checksums(staging), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            try (var raf = new java.io.RandomAccessFile(VolumeFiles.data(staging).toFile(), "rw")) {
                raf.setLength(target.sizeBytes()); // sparse: what is never written reads as zeroes
            }
            writeFully(sums, ChecksumFileLayout.encodeHeader(), 0);
            return new SnapshotReceiver(staging, target, data, sums);
        } catch (IOException e) {
            if (data != null) {
                try {
                    data.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw Durable.ioError("receive snapshot " + target.id() + " of " + target.volume() + " into " + staging, e);
        }
    }

    /** The snapshot this receives (its size, tag and creation time; complete once installed). */
    public SnapshotInfo target() {
        return target;
    }

    /**
     * Writes {@code bytes} (block-aligned, inside the snapshot) at {@code offset}, with their
     * checksums; all-zero blocks stay holes (their slot is zero, which reads as a zero block), so
     * each range is to be written once. Returns the bytes written to the data file.
     */
    public long write(long offset, ByteBuffer bytes) {
        int len = bytes.remaining();
        if (offset % B != 0 || len % B != 0 || offset < 0 || offset + len > target.sizeBytes()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "snapshot " + target.id() + ": a received range ["
                    + offset + ", +" + len + ") is not block-aligned inside its " + target.sizeBytes() + " bytes");
        }
        long written = 0;
        int blocks = len / B;
        for (int first = 0; first < blocks; ) {
            if (zero(bytes, first)) {
                first++;
                continue;
            }
            int end = first + 1;
            while (end < blocks && !zero(bytes, end)) {
                end++;
            }
            writeRun(offset + (long) first * B, bytes.slice(bytes.position() + first * B, (end - first) * B));
            written += (long) (end - first) * B;
            first = end;
        }
        return written;
    }

    private static boolean zero(ByteBuffer bytes, int block) {
        return bytes.slice(bytes.position() + block * B, B).mismatch(ZERO_BLOCK) == -1;
    }

    private void writeRun(long offset, ByteBuffer run) {
        try {
            writeBlocks(data, checksums, offset, run);
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + target.id() + " of " + target.volume() + ": write received bytes at "
                    + offset + " in " + staging, e);
        }
    }

    /** Makes both files durable (before the install names them a snapshot). */
    void finish() {
        try {
            data.force(true);
            checksums.force(true);
            Durable.fsyncDirectory(staging);
            finished = true;
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + target.id() + " of " + target.volume() + ": sync " + staging, e);
        }
    }

    boolean finished() {
        return finished;
    }

    Path staging() {
        return staging;
    }

    void installed() {
        installed = true;
    }

    /** Closes the files; deletes the staging directory unless it was installed. */
    @Override
    public void close() {
        try {
            data.close();
            checksums.close();
            if (!installed) {
                VolumeSnapshots.deleteTree(staging);
            }
        } catch (IOException e) {
            throw Durable.ioError("snapshot " + target.id() + " of " + target.volume() + ": close " + staging, e);
        }
    }

    /**
     * Writes whole blocks {@code run} at {@code offset} of a snapshot's data file and their checksum
     * slots, so that the pair agrees (also {@link VolumeSnapshots#repairBlock}'s write).
     */
    static void writeBlocks(FileChannel data, FileChannel checksums, long offset, ByteBuffer run) throws IOException {
        int blocks = run.remaining() / B;
        ByteBuffer slots = ByteBuffer.allocate(blocks * ChecksumFileLayout.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blocks; i++) {
            slots.putInt(ChecksumFileLayout.slotOf(run.slice(run.position() + i * B, B)));
        }
        writeFully(data, run.duplicate(), offset);
        writeFully(checksums, slots.flip(), ChecksumFileLayout.slotOffset(offset / B));
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }
}
