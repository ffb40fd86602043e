package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.LongStream;

/**
 * The dirty-region bitmap in memory and on disk ({@link DirtyBitmapLayout}).
 *
 * <p>Invariant: a region's bit is set on disk while any block of it may have data and checksum
 * out of step on disk. Kept by these rules:
 * <ul>
 *   <li>{@link #beginWrite} counts the mutation in flight, then (only if the in-memory bit is
 *       clear) sets the bit on disk and fsyncs before setting it in memory, so an in-memory bit
 *       always implies the bit on disk.</li>
 *   <li>{@link #endWrite} records the flush generation seen after the mutation's I/O finished.</li>
 *   <li>{@link #afterFlush} clears bits of regions with nothing in flight whose last mutation
 *       finished before the previous flush began (so it is durable, and the region was idle for
 *       one flush interval: hysteresis against set/clear churn). A clear races with a new
 *       mutation Dekker-style: the clearer clears the bit then reads the in-flight count, the
 *       writer increments the count then reads the bit; at least one sees the other, and the
 *       clearer restores the bit. Clears are written without fsync: a stale set bit is harmless.</li>
 * </ul>
 * Thread-safe. {@link #grow}, {@link #clearAll} and {@link #close} need exclusive access.
 */
final class DirtyRegions implements AutoCloseable {
    /** A region is cleared when its last write finished before checkpoint generation (current - this). */
    static final int IDLE_FLUSHES = 2;

    private final Path file;
    private final FileChannel channel;
    private final int regionShift;
    private final Object persistLock = new Object();
    private final AtomicLong flushGeneration = new AtomicLong();
    private AtomicLongArray words;
    private AtomicIntegerArray inflight;
    private AtomicLongArray lastGeneration;
    private long regions;

    private DirtyRegions(Path file, FileChannel channel, int regionShift) {
        this.file = file;
        this.channel = channel;
        this.regionShift = regionShift;
        this.words = new AtomicLongArray(0);
        this.inflight = new AtomicIntegerArray(0);
        this.lastGeneration = new AtomicLongArray(0);
    }

    static void format(Path file, int regionShift) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer header = DirtyBitmapLayout.encodeHeader(regionShift);
            while (header.hasRemaining()) {
                ch.write(header);
            }
            ch.force(true);
        } catch (IOException e) {
            throw Durable.ioError("create " + file, e);
        }
    }

    /** Opens the bitmap; {@code expectedShift} comes from the volume metadata and must match. */
    static DirtyRegions open(Path file, int expectedShift, long sizeBytes) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw Durable.ioError("open " + file, e);
        }
        try {
            ByteBuffer header = ByteBuffer.allocate(DirtyBitmapLayout.HEADER_LENGTH);
            readFully(ch, header, 0);
            int shift = DirtyBitmapLayout.checkHeader(header.flip(), file);
            if (shift != expectedShift) {
                throw new BallastException(ErrorCode.CORRUPTION,
                        file + " has region shift " + shift + " but the volume metadata says " + expectedShift);
            }
            DirtyRegions d = new DirtyRegions(file, ch, shift);
            d.grow(sizeBytes);
            ByteBuffer word = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int w = 0; w < d.words.length(); w++) {
                word.clear();
                readFully(ch, word, DirtyBitmapLayout.HEADER_LENGTH + (long) w * Long.BYTES);
                d.words.set(w, word.flip().remaining() == Long.BYTES ? word.getLong(0) : 0);
            }
            return d;
        } catch (IOException e) {
            closeQuietly(ch);
            throw Durable.ioError("read " + file, e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                return; // beyond EOF: the caller treats a short word as zero
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    int regionShift() {
        return regionShift;
    }

    long regionOf(long byteOffset) {
        return byteOffset >>> regionShift;
    }

    /** Registers a mutation of bytes [from, to) and makes its regions durably dirty first. */
    void beginWrite(long from, long to) {
        long r0 = regionOf(from);
        long r1 = regionOf(to - 1);
        for (long r = r0; r <= r1; r++) {
            inflight.incrementAndGet((int) r);
        }
        for (long r = r0; r <= r1; r++) {
            if (!isDirty(r)) {
                markDurably(r0, r1);
                return;
            }
        }
    }

    /** Ends a mutation registered by {@link #beginWrite} with the same range. */
    void endWrite(long from, long to) {
        long generation = flushGeneration.get();
        long r0 = regionOf(from);
        long r1 = regionOf(to - 1);
        for (long r = r0; r <= r1; r++) {
            lastGeneration.accumulateAndGet((int) r, generation, Math::max);
            inflight.decrementAndGet((int) r);
        }
    }

    boolean isDirty(long region) {
        return (words.get((int) (region >>> 6)) & (1L << region)) != 0;
    }

    private void markDurably(long r0, long r1) {
        synchronized (persistLock) {
            long w0 = r0 >>> 6;
            long w1 = r1 >>> 6;
            long[] next = new long[(int) (w1 - w0 + 1)];
            boolean changed = false;
            for (long r = r0; r <= r1; r++) {
                next[(int) ((r >>> 6) - w0)] |= 1L << r;
                changed |= !isDirty(r);
            }
            if (!changed) {
                return;
            }
            for (long w = w0; w <= w1; w++) {
                next[(int) (w - w0)] |= words.get((int) w);
                persistWord(w, next[(int) (w - w0)]);
            }
            forceBitmap();
            for (long w = w0; w <= w1; w++) {
                words.set((int) w, next[(int) (w - w0)]);
            }
        }
    }

    /** Starts a flush: returns its generation; mutations ending from now on belong to the next one. */
    long startFlush() {
        return flushGeneration.incrementAndGet();
    }

    /**
     * True when {@link #afterFlush(long)} for {@code generation} would clear at least one region.
     * When false a checkpoint can skip its syncs: clearing a region needs only the sync of the
     * checkpoint that clears it (the region's last write ended before the previous checkpoint
     * began, so before this one's sync), never an earlier one.
     */
    boolean hasIdleRegions(long generation) {
        for (int w = 0; w < words.length(); w++) {
            for (long b = words.get(w); b != 0; b &= b - 1) {
                int r = w * 64 + Long.numberOfTrailingZeros(b);
                if (inflight.get(r) == 0 && lastGeneration.get(r) <= generation - IDLE_FLUSHES) {
                    return true;
                }
            }
        }
        return false;
    }

    /** After the flush of {@code generation} made data and checksums durable: clear idle regions. */
    void afterFlush(long generation) {
        synchronized (persistLock) {
            for (int w = 0; w < words.length(); w++) {
                long bits = words.get(w);
                if (bits == 0) {
                    continue;
                }
                long kept = bits;
                for (long b = bits; b != 0; b &= b - 1) {
                    int r = w * 64 + Long.numberOfTrailingZeros(b);
                    long bit = 1L << r;
                    if (inflight.get(r) == 0 && lastGeneration.get(r) <= generation - IDLE_FLUSHES) {
                        kept &= ~bit;
                    }
                }
                if (kept == bits) {
                    continue;
                }
                words.set(w, kept);
                // Dekker with beginWrite: a writer that incremented after our check restores its bit.
                long restored = kept;
                for (long b = bits & ~kept; b != 0; b &= b - 1) {
                    int r = w * 64 + Long.numberOfTrailingZeros(b);
                    if (inflight.get(r) != 0) {
                        restored |= 1L << r;
                    }
                }
                if (restored != kept) {
                    words.set(w, restored);
                }
                if (restored != bits) {
                    persistWord(w, restored); // no fsync: a bit lost in a crash only costs a scan
                }
            }
        }
    }

    /** Dirty regions, ascending. */
    long[] dirtyRegions() {
        return LongStream.range(0, regions).filter(this::isDirty).toArray();
    }

    /** Clears every bit durably; only when no mutation is in flight and all data is durable. */
    void clearAll() {
        synchronized (persistLock) {
            for (int w = 0; w < words.length(); w++) {
                if (words.get(w) != 0) {
                    persistWord(w, 0);
                    words.set(w, 0);
                }
            }
            forceBitmap();
        }
    }

    /** Extends the in-memory arrays to cover a volume of {@code sizeBytes}; exclusive access. */
    void grow(long sizeBytes) {
        long n = DirtyBitmapLayout.regions(sizeBytes, regionShift);
        if (n > Integer.MAX_VALUE - 64) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE,
                    "volume of " + sizeBytes + " bytes needs too many dirty regions of 2^" + regionShift + " bytes");
        }
        int wordCount = (int) ((n + 63) >>> 6);
        AtomicLongArray nw = new AtomicLongArray(wordCount);
        AtomicIntegerArray ni = new AtomicIntegerArray((int) n);
        AtomicLongArray ng = new AtomicLongArray((int) n);
        for (int i = 0; i < words.length(); i++) {
            nw.set(i, words.get(i));
        }
        for (int i = 0; i < inflight.length(); i++) {
            ni.set(i, inflight.get(i));
            ng.set(i, lastGeneration.get(i));
        }
        for (int i = inflight.length(); i < n; i++) {
            ng.set(i, Long.MIN_VALUE / 2);
        }
        words = nw;
        inflight = ni;
        lastGeneration = ng;
        regions = n;
    }

    private void persistWord(long w, long value) {
        ByteBuffer buf = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        long pos = DirtyBitmapLayout.wordOffset(w * 64);
        try {
            while (buf.hasRemaining()) {
                channel.write(buf, pos + buf.position());
            }
        } catch (IOException e) {
            throw Durable.ioError("write " + file, e);
        }
    }

    private void forceBitmap() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw Durable.ioError("fsync " + file, e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw Durable.ioError("close " + file, e);
        }
    }
}
