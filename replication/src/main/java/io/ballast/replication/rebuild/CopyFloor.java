package io.ballast.replication.rebuild;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.function.Supplier;

/**
 * The log index a running (or just finished, not yet reloaded) rebuild copies from, and what that
 * means for the replica's own applies while it lasts.
 *
 * <p>A rebuild's block copy holds the leader's state at its start index. Meanwhile this replica's
 * own log may still apply entries at or below that index; written after a copied block, such an
 * entry would put an older value back that no later entry corrects. So from {@link #starts} on,
 * an entry at or below the floor waits for the copy's outcome ({@link #awaitOutcome}): once the
 * copy succeeded it leaves the store alone (the copy holds at least its effect) until Ratis
 * reloads the replica at the copy's start ({@link #reloaded}); if the copy failed it is applied as
 * usual (a block the copy wrote then holds a newer state, which the log's replay or the next
 * rebuild's changed regions cover, as for any failed copy).
 *
 * <p>The floor is raised under the write side of the replica's repair guard, whose read side
 * every apply holds across its store writes, so no apply's store write straddles the change.
 * Thread-safe.
 */
public final class CopyFloor {
    /** An apply waiting for disk space holds the read side: the rebuild gives up and the leader asks again. */
    private static final long START_WAIT_SECONDS = 30;

    private final ReadWriteLock repairGuard;
    private final Supplier<String> replica;
    private volatile long floor = -1;
    /** The running copy's outcome (true: it succeeded), or null when none ran since the last reload. */
    private volatile CompletableFuture<Boolean> outcome;
    private final AtomicLong skipped = new AtomicLong();

    /** @param replica names the replica in messages */
    public CopyFloor(ReadWriteLock repairGuard, Supplier<String> replica) {
        this.repairGuard = repairGuard;
        this.replica = replica;
    }

    /** A copy from the state at {@code startIndex} is about to write the store; returns once no apply is mid-write. */
    public void starts(long startIndex) {
        Lock exclusive = repairGuard.writeLock();
        try {
            if (!exclusive.tryLock(START_WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new BallastException(ErrorCode.UNAVAILABLE, replica.get() + ": an apply has not finished within "
                        + START_WAIT_SECONDS + " s (disk full?); the rebuild waits for the next request");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, replica.get() + ": interrupted before a rebuild", e);
        }
        try {
            skipped.set(0);
            outcome = new CompletableFuture<>();
            floor = startIndex;
        } finally {
            exclusive.unlock();
        }
    }

    /** The copy {@link #starts} began has ended; a failed one lowers the floor at once. */
    public void ended(boolean succeeded) {
        if (!succeeded) {
            floor = -1;
        }
        CompletableFuture<Boolean> o = outcome;
        if (o != null) {
            o.complete(succeeded);
        }
    }

    /** Ratis reloaded the replica at the copy's start: nothing at or below it comes again. */
    public void reloaded() {
        floor = -1;
    }

    /** Whether an entry at {@code index} is at or below a running or succeeded copy's start. */
    public boolean covers(long index) {
        return index <= floor;
    }

    /** Whether a copy runs or awaits its reload: the store does not then hold the applied index's state. */
    public boolean active() {
        return floor >= 0;
    }

    /** Waits (an apply thread, outside the repair guard) for the running copy's outcome. */
    public void awaitOutcome() {
        CompletableFuture<Boolean> o = outcome;
        if (o == null) {
            return;
        }
        try {
            o.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, replica.get() + ": closed while a rebuild ran", e);
        } catch (ExecutionException e) {
            // completed only normally
        }
    }

    /** An entry was applied without a store write because the copy covers it. */
    public void skipped() {
        skipped.incrementAndGet();
    }

    /** Entries applied without a store write during the last copy, for the rebuild's log line. */
    public long skippedCount() {
        return skipped.get();
    }
}
