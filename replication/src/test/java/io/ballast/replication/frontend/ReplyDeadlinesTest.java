package io.ballast.replication.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.Timeout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The backstop deadline of local submissions: fails a reply that never comes, and is dropped with one that does. */
class ReplyDeadlinesTest {

    @Test
    void aReplyThatNeverComesFailsWithATimeoutAfterItsDeadline() {
        CompletableFuture<String> reply = new CompletableFuture<>();
        CompletableFuture<String> bounded = ReplyDeadlines.bound(reply, 200);
        assertFalse(bounded.isDone(), "failed before its deadline");
        ExecutionException e = assertThrows(ExecutionException.class, () -> bounded.get(10, TimeUnit.SECONDS));
        assertInstanceOf(TimeoutException.class, e.getCause());
    }

    @Test
    void aReplyBeforeTheDeadlineCancelsItAndKeepsItsValue() throws Exception {
        CompletableFuture<String> reply = new CompletableFuture<>();
        Timeout deadline = ReplyDeadlines.arm(reply, 60_000);
        assertFalse(deadline.isCancelled());
        reply.complete("applied");
        assertTrue(deadline.isCancelled(), "the deadline outlives its answered reply");
        assertTrue(reply.isDone() && !reply.isCompletedExceptionally());
        assertEquals("applied", reply.get());
    }

    @Test
    void aReplyAlreadyThereNeedsNoDeadline() {
        assertNull(ReplyDeadlines.arm(CompletableFuture.completedFuture("x"), 1000));
    }
}
