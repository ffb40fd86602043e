package io.ballast.replication.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The read fence's rounds against a scripted read index (the Raft side is exercised for real by
 * ReplicationTest and ReadFenceIT): a read never rides on a round that began before it arrived,
 * reads arriving together share one round, a newer epoch fences for good, and no leader means a
 * stall within the budget and then an error, never a pass.
 */
class ReadFenceTest {
    private static final long EPOCH = 1000;

    /** Each call of the check is a round whose answer the test gives. */
    private final List<CompletableFuture<ByteBuffer>> rounds = new ArrayList<>();
    private final AtomicLong localEpoch = new AtomicLong(EPOCH);

    private ReadFence fence(long budgetNanos) {
        return new ReadFence("v", EPOCH, () -> {
            CompletableFuture<ByteBuffer> f = new CompletableFuture<>();
            synchronized (rounds) {
                rounds.add(f);
            }
            return f;
        }, localEpoch::get, budgetNanos, Runnable::run); // rounds start inline: the test steps them
    }

    private CompletableFuture<ByteBuffer> round(int i) {
        synchronized (rounds) {
            return rounds.get(i);
        }
    }

    private int roundCount() {
        synchronized (rounds) {
            return rounds.size();
        }
    }

    private static ByteBuffer epochAnswer(long epoch) {
        return ByteBuffer.allocate(16).putLong(0, epoch).putLong(8, 42);
    }

    @Test
    void readsWaitForARoundThatBeganAfterThemAndShareIt() {
        ReadFence fence = fence(TimeUnit.SECONDS.toNanos(5));
        CompletableFuture<Void> first = fence.confirm();
        assertEquals(1, roundCount());
        CompletableFuture<Void> a = fence.confirm();
        CompletableFuture<Void> b = fence.confirm();
        CompletableFuture<Void> c = fence.confirm();
        assertEquals(1, roundCount(), "reads arriving during a round do not start their own");

        round(0).complete(epochAnswer(EPOCH));
        assertTrue(first.isDone() && !first.isCompletedExceptionally());
        assertFalse(a.isDone() || b.isDone() || c.isDone(), "a round that began before them proves nothing for them");
        assertEquals(2, roundCount(), "the next round starts as the previous ends");

        round(1).complete(epochAnswer(EPOCH));
        assertTrue(a.isDone() && b.isDone() && c.isDone());
        assertEquals(2, fence.rounds());
        assertFalse(fence.fenced());
    }

    @Test
    void aNewerEpochAtTheReadIndexFencesForGood() {
        ReadFence fence = fence(TimeUnit.SECONDS.toNanos(5));
        CompletableFuture<Void> read = fence.confirm();
        CompletableFuture<Void> queued = fence.confirm();
        round(0).complete(epochAnswer(EPOCH + 7));
        assertFailed(read, ErrorCode.FAILED_PRECONDITION, "superseded by 1007");
        assertTrue(fence.fenced());
        // The read queued behind the round fails with it: no round runs for a fenced handle.
        assertFailed(queued, ErrorCode.FAILED_PRECONDITION, "fenced");
        assertEquals(1, roundCount());
        int before = roundCount();
        assertFailed(fence.confirm(), ErrorCode.FAILED_PRECONDITION, "fenced");
        assertEquals(before, roundCount(), "a fenced handle fails reads at once");
    }

    @Test
    void aNewerEpochAppliedLocallyFencesWithoutARound() {
        ReadFence fence = fence(TimeUnit.SECONDS.toNanos(5));
        localEpoch.set(EPOCH + 1);
        assertFailed(fence.confirm(), ErrorCode.FAILED_PRECONDITION, "fenced");
        assertEquals(0, roundCount());
    }

    @Test
    void noLeaderStallsWithinTheBudgetThenFailsUnavailable() throws Exception {
        ReadFence fence = fence(TimeUnit.MILLISECONDS.toNanos(400));
        CompletableFuture<Void> read = fence.confirm();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // Every round fails as a deposed leader's or a leaderless follower's read index does.
        for (int i = 0; !read.isDone(); ) {
            if (i < roundCount()) {
                round(i++).completeExceptionally(new IOException("ReadIndexException: Leader is unknown"));
            }
            assertTrue(System.nanoTime() < deadline, "the read neither passed nor failed");
            Thread.sleep(5);
        }
        assertTrue(roundCount() > 1, "retried within the budget");
        assertFailed(read, ErrorCode.UNAVAILABLE, "cannot confirm");
        assertFalse(fence.fenced(), "no leader is not a newer writer");
    }

    @Test
    void aLeaderFoundWithinTheBudgetLetsTheReadThrough() throws Exception {
        ReadFence fence = fence(TimeUnit.SECONDS.toNanos(5));
        CompletableFuture<Void> read = fence.confirm();
        round(0).completeExceptionally(new IOException("NotLeaderException"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (roundCount() < 2) {
            assertTrue(System.nanoTime() < deadline, "no retry");
            Thread.sleep(5);
        }
        round(1).complete(epochAnswer(EPOCH));
        read.get(1, TimeUnit.SECONDS);
    }

    private static void assertFailed(CompletableFuture<Void> f, ErrorCode code, String text) {
        try {
            f.get(1, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            BallastException be = (BallastException) e.getCause();
            assertEquals(code, be.code(), be.getMessage());
            assertTrue(be.getMessage().contains(text), be.getMessage());
            return;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected " + code + ", the future succeeded");
    }
}
