package io.ballast.engine.attach;

import io.ballast.engine.volume.BlockVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link BlockVolume} that passes everything to another and records when writes and flushes
 * completed, so a test can tell whether an fsync the kernel acknowledged was covered by a flush
 * of the volume that started after the last write had completed.
 */
final class ObservedVolume implements BlockVolume {
    /** One completed flush: started and completed at these System.nanoTime() values. */
    record Flush(long startedNanos, long completedNanos) {
    }

    private final BlockVolume inner;
    private final AtomicLong lastWriteCompletedNanos = new AtomicLong();
    private final AtomicLong writesCompleted = new AtomicLong();
    private final List<Flush> flushes = new ArrayList<>();

    ObservedVolume(BlockVolume inner) {
        this.inner = inner;
    }

    long lastWriteCompletedNanos() {
        return lastWriteCompletedNanos.get();
    }

    long writesCompleted() {
        return writesCompleted.get();
    }

    synchronized List<Flush> flushes() {
        return List.copyOf(flushes);
    }

    private <T> CompletableFuture<T> wrote(CompletableFuture<T> f) {
        return f.whenComplete((v, e) -> {
            if (e == null) {
                writesCompleted.incrementAndGet();
                lastWriteCompletedNanos.accumulateAndGet(System.nanoTime(), Math::max);
            }
        });
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public int blockSize() {
        return inner.blockSize();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return inner.read(offset, dst);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return wrote(inner.write(offset, src, fua));
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return wrote(inner.trim(offset, length, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua) {
        return wrote(inner.writeZeroes(offset, length, mayPunchHole, fua));
    }

    @Override
    public CompletableFuture<Void> flush() {
        long started = System.nanoTime();
        return inner.flush().whenComplete((v, e) -> {
            if (e == null) {
                synchronized (this) {
                    flushes.add(new Flush(started, System.nanoTime()));
                }
            }
        });
    }

    @Override
    public CompletableFuture<Void> resize(long newSize) {
        return inner.resize(newSize);
    }

    @Override
    public void close() {
        inner.close();
    }
}
