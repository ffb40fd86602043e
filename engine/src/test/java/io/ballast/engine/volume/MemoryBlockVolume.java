package io.ballast.engine.volume;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * An honest in-memory {@link BlockVolume} for tests: real bytes in sparse 4 KiB blocks, the same
 * range checks and {@link ErrorCode}s as the contract, and a crash model (writes are volatile until
 * a flush or FUA; {@link #crash()} drops what was not durable).
 *
 * <p>Test hooks: every call is recorded ({@link #calls()}); an {@link Interceptor} can delay a call
 * (return a future that completes later: out-of-order completion) or fail it (return a failed
 * future: nothing is applied). With an executor, work runs there (async, like a real volume);
 * without, futures complete on the caller's thread once the interceptor's future completes.
 */
public final class MemoryBlockVolume implements BlockVolume {
    public static final int BLOCK_SIZE = 4096;

    public enum Op { READ, WRITE, TRIM, WRITE_ZEROES, FLUSH, RESIZE }

    /** One call as the volume saw it. */
    public record Call(Op op, long offset, long length, boolean fua, boolean mayPunchHole) {
    }

    /** Decides when (completed future) or whether (failed future) a call proceeds; null = at once. */
    @FunctionalInterface
    public interface Interceptor {
        CompletableFuture<Void> before(Call call);
    }

    private final String name;
    private final Executor executor;
    private final Map<Long, byte[]> current = new HashMap<>();
    private final Map<Long, byte[]> durable = new HashMap<>();
    private final Set<Long> dirty = new HashSet<>();
    private final List<Call> calls = new ArrayList<>();
    private long size;
    private boolean closed;
    private volatile Interceptor interceptor;
    private volatile boolean flushCoversAllConnections = true;

    public MemoryBlockVolume(String name, long size) {
        this(name, size, null);
    }

    public MemoryBlockVolume(String name, long size, Executor executor) {
        if (size < 0 || size % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("size must be a multiple of " + BLOCK_SIZE);
        }
        this.name = name;
        this.size = size;
        this.executor = executor;
    }

    public void interceptor(Interceptor i) {
        this.interceptor = i;
    }

    public void flushCoversAllConnections(boolean value) {
        this.flushCoversAllConnections = value;
    }

    @Override
    public boolean flushCoversAllConnections() {
        return flushCoversAllConnections;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized long size() {
        return size;
    }

    @Override
    public int blockSize() {
        return BLOCK_SIZE;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return run(new Call(Op.READ, offset, dst.remaining(), false, false), () -> {
            checkRange(offset, dst.remaining());
            copyOut(offset, dst);
        });
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return run(new Call(Op.WRITE, offset, src.remaining(), fua, false), () -> {
            checkRange(offset, src.remaining());
            long first = offset;
            ByteBuffer in = src.duplicate();
            while (in.hasRemaining()) {
                long block = first / BLOCK_SIZE;
                int within = (int) (first % BLOCK_SIZE);
                int n = Math.min(BLOCK_SIZE - within, in.remaining());
                in.get(current.computeIfAbsent(block, b -> new byte[BLOCK_SIZE]), within, n);
                dirty.add(block);
                first += n;
            }
            if (fua) {
                persist(offset, src.remaining());
            }
        });
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return run(new Call(Op.TRIM, offset, length, fua, true), () -> {
            checkRange(offset, length);
            for (long b = ceilDiv(offset), end = (offset + length) / BLOCK_SIZE; b < end; b++) {
                current.remove(b);
                dirty.add(b);
            }
            if (fua) {
                persist(offset, length);
            }
        });
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua) {
        return run(new Call(Op.WRITE_ZEROES, offset, length, fua, mayPunchHole), () -> {
            checkRange(offset, length);
            for (long pos = offset, end = offset + length; pos < end; ) {
                long block = pos / BLOCK_SIZE;
                int within = (int) (pos % BLOCK_SIZE);
                int n = (int) Math.min(BLOCK_SIZE - within, end - pos);
                if (n == BLOCK_SIZE && mayPunchHole) {
                    current.remove(block);
                } else if (n == BLOCK_SIZE) {
                    current.put(block, new byte[BLOCK_SIZE]); // provisioned zeroes (NO_HOLE)
                } else {
                    java.util.Arrays.fill(current.computeIfAbsent(block, b -> new byte[BLOCK_SIZE]), within,
                            within + n, (byte) 0);
                }
                dirty.add(block);
                pos += n;
            }
            if (fua) {
                persist(offset, length);
            }
        });
    }

    @Override
    public CompletableFuture<Void> flush() {
        return run(new Call(Op.FLUSH, 0, 0, false, false), () -> {
            for (long b : dirty) {
                copyToDurable(b);
            }
            dirty.clear();
        });
    }

    @Override
    public CompletableFuture<Void> resize(long newSize) {
        return run(new Call(Op.RESIZE, newSize, 0, false, false), () -> {
            if (newSize < size || newSize % BLOCK_SIZE != 0) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot resize " + size + " to " + newSize);
            }
            size = newSize;
        });
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    // ---- test inspection

    /** Every call so far, in arrival order. */
    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The current content of [offset, offset + length). */
    public synchronized byte[] bytes(long offset, int length) {
        ByteBuffer dst = ByteBuffer.allocate(length);
        copyOut(offset, dst);
        return dst.array();
    }

    /** Writes {@code data} directly (no call recorded, not durable). */
    public synchronized void fill(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long pos = offset + i;
            current.computeIfAbsent(pos / BLOCK_SIZE, b -> new byte[BLOCK_SIZE])[(int) (pos % BLOCK_SIZE)] = data[i];
            dirty.add(pos / BLOCK_SIZE);
        }
    }

    /** Blocks holding storage (not holes). */
    public synchronized int allocatedBlocks() {
        return current.size();
    }

    /** A crash: everything not flushed (or written with FUA) is lost. */
    public synchronized void crash() {
        current.clear();
        durable.forEach((b, data) -> current.put(b, data.clone()));
        dirty.clear();
    }

    // ---- internals

    private CompletableFuture<Void> run(Call call, Runnable apply) {
        synchronized (this) {
            calls.add(call);
        }
        Interceptor i = interceptor;
        CompletableFuture<Void> gate = i == null ? null : i.before(call);
        if (gate == null) {
            gate = CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        gate.whenComplete((ignored, failure) -> {
            if (failure != null) {
                result.completeExceptionally(failure);
                return;
            }
            Runnable work = () -> {
                try {
                    synchronized (this) {
                        if (closed) {
                            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + name + " is closed");
                        }
                        apply.run();
                    }
                    result.complete(null);
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            };
            if (executor == null) {
                work.run();
            } else {
                executor.execute(work);
            }
        });
        return result;
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE,
                    "range [" + offset + ", +" + length + ") outside volume " + name + " of " + size + " bytes");
        }
    }

    private void copyOut(long offset, ByteBuffer dst) {
        long pos = offset;
        while (dst.hasRemaining()) {
            long block = pos / BLOCK_SIZE;
            int within = (int) (pos % BLOCK_SIZE);
            int n = Math.min(BLOCK_SIZE - within, dst.remaining());
            byte[] data = current.get(block);
            if (data == null) {
                for (int k = 0; k < n; k++) {
                    dst.put((byte) 0);
                }
            } else {
                dst.put(data, within, n);
            }
            pos += n;
        }
    }

    private void persist(long offset, long length) {
        for (long b = offset / BLOCK_SIZE, end = ceilDiv(offset + length); b < end; b++) {
            copyToDurable(b);
            dirty.remove(b);
        }
    }

    private void copyToDurable(long block) {
        byte[] data = current.get(block);
        if (data == null) {
            durable.remove(block);
        } else {
            durable.put(block, data.clone());
        }
    }

    private static long ceilDiv(long bytes) {
        return (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }
}
