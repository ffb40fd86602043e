package io.ballast.tests.harness;

import java.util.function.BooleanSupplier;

/** Waiting for a condition in a test with processes: polled, bounded, and saying what it waited for. */
public final class Await {
    private Await() {}

    /**
     * Polls {@code condition} every 250 ms for up to {@code seconds}. An exception while asking (a
     * node still starting, a gRPC call refused) counts as "not yet"; the last one is in the failure.
     */
    public static void await(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out after " + seconds + " s waiting for: " + what
                + (last == null ? "" : "; the last attempt failed with " + last), last);
    }
}
