package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.server.protocol.TermIndex;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The watchdog alone: a rebuild Ratis never reloads gets its division restarted, once. */
class RebuildHandoverTest {
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private static void await(AtomicInteger counter, int value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (counter.get() < value && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Test
    void aRebuildNotReloadedInTimeRestartsTheDivision() throws Exception {
        AtomicInteger restarts = new AtomicInteger();
        RebuildHandover h = new RebuildHandover(() -> "n2", executor, 50, () -> restarts.incrementAndGet() > 0);
        h.rebuilt(TermIndex.valueOf(10, 6166));
        await(restarts, 1);
        Thread.sleep(300);
        assertEquals(1, restarts.get(), "restarted exactly once");
    }

    @Test
    void aReloadInTimeNeedsNoRestart() throws Exception {
        AtomicInteger restarts = new AtomicInteger();
        RebuildHandover h = new RebuildHandover(() -> "n2", executor, 200, () -> restarts.incrementAndGet() > 0);
        h.rebuilt(TermIndex.valueOf(10, 6166));
        h.reloaded();
        Thread.sleep(600);
        assertEquals(0, restarts.get());
    }

    @Test
    void aRestartRefusedNowIsTriedAgainLater() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        RebuildHandover h = new RebuildHandover(() -> "n2", executor, 50, () -> attempts.incrementAndGet() >= 3);
        h.rebuilt(TermIndex.valueOf(10, 6166));
        await(attempts, 3);
        Thread.sleep(300);
        assertEquals(3, attempts.get(), "refused twice (a frontend held the volume), then done");
    }
}
