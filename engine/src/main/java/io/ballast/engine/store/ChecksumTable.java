package io.ballast.engine.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The checksum slots of one volume ({@link ChecksumFileLayout}), memory-mapped in chunks of
 * {@code 1 << chunkShift} slots so that any volume size works (one MappedByteBuffer is limited to
 * 2 GiB, i.e. 2 TiB of data at 4 bytes per 4 KiB block).
 *
 * <p>Threading: {@link #get}/{@link #set} of different slots may run concurrently; the caller
 * orders accesses to one slot (the store's stripe locks). {@link #grow} and {@link #close} need
 * exclusive access (the store's lifecycle write lock). Slots written are reachable by the kernel's
 * writeback at any time; {@link #force()} makes them durable.
 */
final class ChecksumTable implements AutoCloseable {
    /** 2^28 slots = 1 GiB of mapping per chunk = 1 TiB of data. */
    static final int DEFAULT_CHUNK_SHIFT = 28;

    private final Path file;
    private final FileChannel channel;
    private final int chunkShift;
    private final long chunkMask;
    private MappedByteBuffer[] chunks = new MappedByteBuffer[0];
    private long blocks;

    private ChecksumTable(Path file, FileChannel channel, int chunkShift) {
        this.file = file;
        this.channel = channel;
        this.chunkShift = chunkShift;
        this.chunkMask = (1L << chunkShift) - 1;
    }

    /** Writes a fresh file (header only: every slot of a sparse tail reads as "zero block"). */
    static void format(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer header = ChecksumFileLayout.encodeHeader();
            while (header.hasRemaining()) {
                ch.write(header);
            }
            ch.force(true);
        } catch (IOException e) {
            throw Durable.ioError("create " + file, e);
        }
    }

    static ChecksumTable open(Path file, long blocks, int chunkShift) {
        ChecksumFileLayout.checkHeader(readHeader(file), file);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw Durable.ioError("open " + file, e);
        }
        ChecksumTable table = new ChecksumTable(file, ch, chunkShift);
        try {
            table.grow(blocks);
        } catch (RuntimeException e) {
            table.close();
            throw e;
        }
        return table;
    }

    private static ByteBuffer readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(ChecksumFileLayout.HEADER_LENGTH);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // until full or EOF
            }
            return buf.flip();
        } catch (IOException e) {
            throw Durable.ioError("read " + file, e);
        }
    }

    int get(long block) {
        return chunks[(int) (block >>> chunkShift)].getInt((int) ((block & chunkMask) * ChecksumFileLayout.SLOT_SIZE));
    }

    void set(long block, int slot) {
        chunks[(int) (block >>> chunkShift)].putInt((int) ((block & chunkMask) * ChecksumFileLayout.SLOT_SIZE), slot);
    }

    long blocks() {
        return blocks;
    }

    /** Maps slots for {@code newBlocks} blocks, extending the (sparse) file as needed. */
    void grow(long newBlocks) {
        if (newBlocks < blocks) {
            throw new IllegalArgumentException("checksum table cannot shrink");
        }
        int count = (int) ((newBlocks + chunkMask) >>> chunkShift);
        MappedByteBuffer[] next = Arrays.copyOf(chunks, count);
        try {
            // the last existing chunk may be partial: remap it at its new length
            for (int i = Math.max(0, chunks.length - 1); i < count; i++) {
                long first = (long) i << chunkShift;
                long slots = Math.min(1L << chunkShift, newBlocks - first);
                MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE,
                        ChecksumFileLayout.slotOffset(first), slots * ChecksumFileLayout.SLOT_SIZE);
                map.order(ByteOrder.LITTLE_ENDIAN);
                next[i] = map;
            }
        } catch (IOException e) {
            throw Durable.ioError("map " + file, e);
        }
        chunks = next;
        blocks = newBlocks;
    }

    /**
     * Every slot set before this call is on disk when it returns. An fdatasync of the file, not
     * {@code MappedByteBuffer.force()}: on Linux both write back the shared mapping's dirty pages
     * (they are page-cache pages of this file), but force() msyncs the whole mapping range, which
     * measured 2x slower per flush on a 1 GiB volume (docs/architecture.md).
     */
    void force() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw Durable.ioError("fdatasync " + file, e);
        }
    }

    @Override
    public void close() {
        // Mappings are released by the GC; there is no public unmap. Closing the channel is enough.
        chunks = new MappedByteBuffer[0];
        try {
            channel.close();
        } catch (IOException e) {
            throw Durable.ioError("close " + file, e);
        }
    }
}
