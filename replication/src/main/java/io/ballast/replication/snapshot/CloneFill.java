package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.engine.volume.BlockVolume;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Fills a new (all-zero) volume from a snapshot: reads the snapshot's data extents (its holes are
 * skipped: they read as zeroes, as the new volume already does), verifies every block's checksum on
 * the way, skips all-zero chunks too, and writes the rest through the volume in {@link #CHUNK}
 * writes, {@link #IN_FLIGHT} at a time, then flushes. On a replicated volume each write is a log
 * entry on a majority's disk when it completes, so the fill is durable when {@link #fill} returns.
 *
 * <p>Threading: {@link #fill} blocks its caller; the progress counters may be read from any thread.
 * Errors: the first failed read or write ({@link BallastException}), after the writes in flight
 * settled; a partial fill leaves the volume partly written (the caller redoes the whole fill).
 */
public final class CloneFill {
    static final int CHUNK = 1 << 20;
    static final int IN_FLIGHT = 8;
    private static final ByteBuffer ZEROES = ByteBuffer.allocate(CHUNK).asReadOnlyBuffer();

    /** Bytes of the source gone through (holes included) out of its size. */
    public static final class Progress {
        public final AtomicLong bytesDone = new AtomicLong();
        public final AtomicLong bytesTotal = new AtomicLong();
        /** Bytes actually written to the volume (non-zero data). */
        public final AtomicLong bytesWritten = new AtomicLong();
    }

    private CloneFill() {}

    public static void fill(SnapshotReader source, BlockVolume target, Progress progress) {
        long size = source.size();
        if (target.size() < size) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "volume " + target.name() + " (" + target.size()
                    + " bytes) is smaller than snapshot " + source.info().id() + " (" + size + " bytes)");
        }
        progress.bytesWritten.set(0);
        progress.bytesDone.set(0); // before the total: done == total must only ever mean finished
        progress.bytesTotal.set(size);
        BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(IN_FLIGHT);
        for (int i = 0; i < IN_FLIGHT; i++) {
            buffers.add(ByteBuffer.allocateDirect(CHUNK));
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try {
            for (long pos = source.nextData(0); pos >= 0 && failure.get() == null; pos = source.nextData(pos)) {
                long end = source.nextHole(pos);
                progress.bytesDone.set(pos);
                for (long at = pos; at < end && failure.get() == null; at += CHUNK) {
                    int len = (int) Math.min(CHUNK, end - at);
                    ByteBuffer buf = buffers.take().clear().limit(len);
                    source.read(at, buf);
                    buf.flip();
                    if (buf.mismatch(ZEROES.duplicate().limit(len)) == -1) { // written zeroes: the clone has them
                        buffers.add(buf);
                        progress.bytesDone.set(at + len);
                        continue;
                    }
                    long doneAt = at + len;
                    target.write(at, buf, false).whenComplete((v, t) -> {
                        if (t != null) {
                            failure.compareAndSet(null, t);
                        } else {
                            progress.bytesWritten.addAndGet(len);
                            progress.bytesDone.accumulateAndGet(doneAt, Math::max);
                        }
                        buffers.add(buf);
                    });
                }
                pos = end;
                if (pos >= size) {
                    break;
                }
            }
            for (int i = 0; i < IN_FLIGHT; i++) { // every write settled
                if (buffers.poll(10, TimeUnit.MINUTES) == null) {
                    throw new BallastException(ErrorCode.UNAVAILABLE, "fill of " + target.name() + ": writes did not complete");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "fill of " + target.name() + " interrupted", e);
        }
        if (failure.get() != null) {
            throw BallastException.of(failure.get());
        }
        target.flush().join();
        progress.bytesDone.set(size);
    }
}
