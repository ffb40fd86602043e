package io.ballast.replication.rebuild;

import java.util.function.LongSupplier;

/**
 * Paces a copy (a rebuild's, a backup's, a restore's) to at most {@code bytesPerSecond} on average
 * (0: no limit): a token bucket holding at most one second's worth, so an idle spell is not saved
 * up for a burst. Safe for several threads: they take their turns, so the pace holds for their sum
 * (a backup's upload workers share one pacer).
 */
public final class RatePacer {
    /** Sleeps for the given nanoseconds; a test passes one that advances its clock instead. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long nanos) throws InterruptedException;
    }

    private final long bytesPerSecond;
    private final LongSupplier nanoClock;
    private final Sleeper sleeper;
    private double tokens;
    private long lastNanos;
    private boolean started;

    public RatePacer(long bytesPerSecond) {
        this(bytesPerSecond, System::nanoTime, nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)));
    }

    public RatePacer(long bytesPerSecond, LongSupplier nanoClock, Sleeper sleeper) {
        this.bytesPerSecond = bytesPerSecond;
        this.nanoClock = nanoClock;
        this.sleeper = sleeper;
    }

    /** Returns once {@code bytes} more fit the pace (sleeping until then). */
    public synchronized void take(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (!started) {
            started = true;
            tokens = bytesPerSecond;
        } else {
            tokens = Math.min(bytesPerSecond, tokens + (now - lastNanos) / 1e9 * bytesPerSecond);
        }
        lastNanos = now;
        if (tokens >= bytes) {
            tokens -= bytes;
            return;
        }
        // Sleeping while holding the lock is the point: the other threads' bytes wait behind these.
        sleeper.sleep((long) ((bytes - tokens) / bytesPerSecond * 1e9));
        tokens = 0;
        lastNanos = nanoClock.getAsLong();
    }
}
