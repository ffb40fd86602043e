package io.ballast.engine.volume;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A {@link BlockVolume} over one {@link LocalBlockStore}: each call runs the store's blocking
 * operation on {@code ioExecutor} and completes the returned future there.
 *
 * <p>FUA is a write followed by a full {@link LocalBlockStore#flush()}: the JDK offers no
 * range-limited fdatasync ({@code FileChannel.force} is whole-file), so an FUA write costs as much
 * as a flush. Flushes cover every connection ({@link #flushCoversAllConnections()} is true): they
 * fsync the shared files.
 *
 * <p>The executor's threads must not be interrupted while running these tasks (see
 * {@link LocalBlockStore}). Failures are {@link BallastException}s; an executor that rejects
 * the task yields UNAVAILABLE. {@link #close()} closes the store (cleanly) on the caller's thread.
 */
public final class LocalBlockVolume implements BlockVolume {
    private final String name;
    private final LocalBlockStore store;
    private final Executor ioExecutor;

    public LocalBlockVolume(String name, LocalBlockStore store, Executor ioExecutor) {
        this.name = Objects.requireNonNull(name, "name");
        this.store = Objects.requireNonNull(store, "store");
        this.ioExecutor = Objects.requireNonNull(ioExecutor, "ioExecutor");
    }

    /** The store underneath (metrics, scrub). */
    public LocalBlockStore store() {
        return store;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return store.size();
    }

    @Override
    public int blockSize() {
        return LocalBlockStore.BLOCK_SIZE;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return run(() -> store.read(offset, dst));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return run(() -> {
            store.write(offset, src);
            if (fua) {
                store.flush();
            }
        });
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return run(() -> {
            store.trim(offset, length);
            if (fua) {
                store.flush();
            }
        });
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua) {
        return run(() -> {
            store.writeZeroes(offset, length, mayPunchHole);
            if (fua) {
                store.flush();
            }
        });
    }

    @Override
    public CompletableFuture<Void> flush() {
        return run(store::flush);
    }

    @Override
    public CompletableFuture<Void> resize(long newSize) {
        return run(() -> store.resize(newSize));
    }

    private CompletableFuture<Void> run(Runnable op) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            ioExecutor.execute(() -> {
                try {
                    op.run();
                    f.complete(null);
                } catch (Throwable t) {
                    f.completeExceptionally(BallastException.of(t));
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new BallastException(ErrorCode.UNAVAILABLE,
                    "volume " + name + ": I/O executor rejected the request (shutting down or overloaded)", e));
        }
        return f;
    }

    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return "LocalBlockVolume[" + name + ", " + store.size() + " bytes]";
    }
}
