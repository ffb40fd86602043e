package io.ballast.engine.volume;

import io.ballast.engine.store.LocalBlockStore;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link LocalBlockStore#retireIdleRegions()} on every open store at a fixed interval, on its
 * own daemon thread: idle dirty regions go clean, which bounds how much a recovery after a crash
 * must scan; flushes stay one fdatasync.
 *
 * <p>A failing checkpoint is logged and counted and the loop keeps going: the store stays correct
 * (its regions simply stay dirty) and the next request will surface a real disk error.
 */
public final class StoreCheckpointer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StoreCheckpointer.class);

    private final ScheduledExecutorService timer;

    public StoreCheckpointer(Duration interval, Supplier<? extends Collection<LocalBlockStore>> stores) {
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "checkpointer");
            t.setDaemon(true);
            return t;
        });
        long ms = interval.toMillis();
        timer.scheduleWithFixedDelay(() -> {
            for (LocalBlockStore store : stores.get()) {
                try {
                    store.retireIdleRegions();
                } catch (RuntimeException e) {
                    LOG.warn("checkpoint of volume {} failed (will retry): {}", store.name(), e.toString());
                }
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Stops the timer and waits for a running checkpoint to finish. */
    @Override
    public void close() {
        timer.shutdown();
        try {
            timer.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
