package io.ballast.replication.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting for a condition in a test, in-process or with processes: polled (20 ms at first, then
 * up to 250 ms apart), bounded, and saying what it waited for. A test waits for the state it needs,
 * never for a fixed time. An exception while asking (a node still starting, a call refused) counts
 * as "not yet"; the last one is in the failure.
 */
public final class Await {
    private Await() {
    }

    /** {@link #await(BooleanSupplier, int, String)} with 30 s. */
    public static void await(BooleanSupplier condition, String what) {
        await(condition, 30, what);
    }

    public static void await(BooleanSupplier condition, int seconds, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        RuntimeException last = null;
        long pause = 20;
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
                last = null;
            } catch (RuntimeException e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for: " + what
                        + (last == null ? "" : "; the last attempt failed with " + last), last);
            }
            pause(pause);
            pause = Math.min(250, pause * 2);
        }
    }

    /**
     * The result of {@code f} within 30 s; its failure is rethrown as the {@link
     * io.ballast.engine.error.BallastException} it carries (a test asserts on the code).
     */
    public static <T> T result(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw io.ballast.engine.error.BallastException.of(e);
        }
    }

    /** Sleeps without a checked exception (interrupted: the test fails). */
    public static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
