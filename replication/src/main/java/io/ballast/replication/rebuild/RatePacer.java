package io.ballast.replication.rebuild;

/**
 * Paces a copy (a rebuild's, a backup's) to at most {@code bytesPerSecond} on average (0: no limit): a token bucket holding
 * at most one second's worth, so an idle spell is not saved up for a burst. One thread.
 */
public final class RatePacer {
    private final long bytesPerSecond;
    private double tokens;
    private long lastNanos = -1;

    public RatePacer(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Returns once {@code bytes} more fit the pace (sleeping until then). */
    public void take(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long now = System.nanoTime();
        if (lastNanos < 0) {
            tokens = bytesPerSecond;
        } else {
            tokens = Math.min(bytesPerSecond, tokens + (now - lastNanos) / 1e9 * bytesPerSecond);
        }
        lastNanos = now;
        if (tokens >= bytes) {
            tokens -= bytes;
            return;
        }
        long waitNanos = (long) ((bytes - tokens) / bytesPerSecond * 1e9);
        Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
        tokens = 0;
        lastNanos = System.nanoTime();
    }
}
