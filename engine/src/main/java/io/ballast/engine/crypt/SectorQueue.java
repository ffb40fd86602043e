package io.ballast.engine.crypt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Runs read-modify-write operations one after another per sector. Two partial writes into
 * different bytes of one sector do not overlap, so each must keep the other's bytes; without
 * ordering both would read the old sector and the later write would undo the earlier. Operations
 * on other sectors, and whole-sector writes (which overlap every partial write of their sector, so
 * need no order), run freely.
 *
 * <p>An operation registers on all its sectors in one step under one monitor and waits only for
 * operations registered before it, so waits never form a cycle. Threading: thread-safe.
 */
final class SectorQueue {
    private final Map<Long, CompletableFuture<Void>> tails = new HashMap<>();

    /** Runs {@code op} once every earlier operation on any of {@code sectors} has finished. */
    <T> CompletableFuture<T> run(long[] sectors, Supplier<CompletableFuture<T>> op) {
        CompletableFuture<Void> mine = new CompletableFuture<>();
        List<CompletableFuture<Void>> before = new ArrayList<>(sectors.length);
        synchronized (tails) {
            for (long s : sectors) {
                CompletableFuture<Void> prev = tails.put(s, mine);
                if (prev != null) {
                    before.add(prev);
                }
            }
        }
        CompletableFuture<T> result = CompletableFuture.allOf(before.toArray(CompletableFuture[]::new))
                .thenCompose(x -> op.get());
        result.whenComplete((r, e) -> {
            synchronized (tails) {
                for (long s : sectors) {
                    tails.remove(s, mine);
                }
            }
            mine.complete(null);
        });
        return result;
    }
}
