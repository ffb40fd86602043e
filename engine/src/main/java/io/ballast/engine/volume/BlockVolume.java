package io.ballast.engine.volume;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A volume as the frontends (NBD server, FUSE export) see it: a byte-addressed device of
 * {@link #size()} bytes. Implementations: a local block store ({@code LocalBlockVolume}) and,
 * later, a Raft-replicated volume in {@code replication}.
 *
 * <p><b>Threading.</b> All methods are thread-safe and may be called concurrently from many
 * threads; they never block the caller on disk or network I/O: work happens on the
 * implementation's executors and the returned future completes there. Callers must not run
 * blocking work in dependent stages on that thread.
 *
 * <p><b>Ordering.</b> Concurrent requests complete in any order. Two overlapping requests in
 * flight at once have no defined order (as with a disk); a request issued after another
 * completed observes it.
 *
 * <p><b>Durability.</b> A completed write is visible to every later read but may be lost in a
 * crash until a later {@link #flush()} completes, unless it was written with {@code fua}.
 * {@code flush()} makes every write that completed before the call durable, whichever
 * connection or thread issued it (this is what makes NBD CAN_MULTI_CONN truthful).
 *
 * <p><b>Errors.</b> Futures fail with {@link io.ballast.engine.error.BallastException}:
 * OUT_OF_RANGE for requests outside [0, size), INVALID_ARGUMENT for malformed ones, CORRUPTION
 * when stored data fails its checksum (never returned as data), IO_ERROR / NO_SPACE from the
 * disk, FAILED_PRECONDITION after close. A failed request changes nothing it was not asked to
 * change (a failed write may leave its own range partially written, as on a disk).
 */
public interface BlockVolume extends AutoCloseable {

    /** A stable identifier (used as the NBD export name). */
    String name();

    /** Current size in bytes; grows after {@link #resize(long)}. */
    long size();

    /** Preferred I/O granularity in bytes (4096); any byte alignment is accepted. */
    int blockSize();

    /** Fills {@code dst} (from its position to its limit) with data starting at {@code offset}. */
    CompletableFuture<Void> read(long offset, ByteBuffer dst);

    /**
     * Writes {@code src} (position to limit) at {@code offset}; durable on completion if {@code fua}.
     * The caller keeps {@code src}'s bytes unchanged (and its memory alive) until the future
     * completes: implementations read them asynchronously and do not copy them first. Its position
     * and limit are not modified.
     */
    CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua);

    /** Discards the fully covered blocks of the range, giving disk space back; later reads return zeroes. */
    CompletableFuture<Void> trim(long offset, long length, boolean fua);

    /**
     * Makes the range read as zeroes. With {@code mayPunchHole} the space may be freed (sparse);
     * without it the space stays allocated (NBD_CMD_FLAG_NO_HOLE).
     */
    CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayPunchHole, boolean fua);

    /** Makes every write completed before this call durable. */
    CompletableFuture<Void> flush();

    /** Grows the volume to {@code newSize} bytes (a multiple of the block size); shrinking is refused. */
    CompletableFuture<Void> resize(long newSize);

    /** True when a flush on any handle covers writes completed on every other handle. */
    default boolean flushCoversAllConnections() {
        return true;
    }

    @Override
    void close();
}
