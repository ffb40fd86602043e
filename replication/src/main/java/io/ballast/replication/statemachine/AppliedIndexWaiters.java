package io.ballast.replication.statemachine;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

/**
 * Futures that complete once a replica has applied a given log index (read-your-writes, attach,
 * the read fence): one future per awaited index, completed in index order as applies advance.
 * Thread-safe: {@link #await} may race {@link #advanced}; the second check in {@code await}
 * closes the window between reading the applied index and registering.
 */
final class AppliedIndexWaiters {
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> waiters = new ConcurrentSkipListMap<>();
    private final LongSupplier applied;

    AppliedIndexWaiters(LongSupplier applied) {
        this.applied = applied;
    }

    /** Completes once {@code index} is applied (at once if it already is). */
    CompletableFuture<Void> await(long index) {
        if (applied.getAsLong() >= index) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = waiters.computeIfAbsent(index, i -> new CompletableFuture<>());
        if (applied.getAsLong() >= index) {
            advanced(applied.getAsLong());
        }
        return f;
    }

    /** Completes every waiter at or below {@code index}. */
    void advanced(long index) {
        for (Map.Entry<Long, CompletableFuture<Void>> e; (e = waiters.firstEntry()) != null && e.getKey() <= index; ) {
            if (waiters.remove(e.getKey(), e.getValue())) {
                e.getValue().complete(null);
            }
        }
    }

    /** Fails every waiter (the replica closed). */
    void failAll(Throwable cause) {
        waiters.values().forEach(f -> f.completeExceptionally(cause));
        waiters.clear();
    }
}
