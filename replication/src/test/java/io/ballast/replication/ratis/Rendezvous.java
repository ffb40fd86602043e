package io.ballast.replication.ratis;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A meeting point for the tests that something runs side by side: each of {@code parties} callers
 * waits in {@link #arrive()} until all have arrived (at most 20 s), and {@link #together()} counts
 * those that saw everyone. Run one after another, the first caller waits alone and is not counted.
 */
final class Rendezvous {
    private final CountDownLatch arrived;
    private final AtomicInteger together = new AtomicInteger();

    Rendezvous(int parties) {
        this.arrived = new CountDownLatch(parties);
    }

    void arrive() {
        arrived.countDown();
        try {
            if (arrived.await(20, TimeUnit.SECONDS)) {
                together.incrementAndGet();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    int together() {
        return together.get();
    }
}
