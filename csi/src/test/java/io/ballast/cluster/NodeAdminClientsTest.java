package io.ballast.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NodeAdminClientsTest {
    @Test
    void callsRunAtOnceAndAllFinishBeforeItReturns() {
        CountDownLatch allStarted = new CountDownLatch(3);
        AtomicInteger finished = new AtomicInteger();
        Runnable call = () -> {
            allStarted.countDown();
            try {
                // Only calls running side by side get past this: one after another would wait in vain.
                assertTrue(allStarted.await(10, TimeUnit.SECONDS), "the other calls started meanwhile");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            finished.incrementAndGet();
        };
        NodeAdminClients.allAtOnce(List.of(call, call, call));
        assertEquals(3, finished.get());
    }

    @Test
    void theFirstFailureIsThrownWithTheOthersSuppressedAfterEveryCallRan() {
        BallastException down = new BallastException(ErrorCode.UNAVAILABLE, "delete on n2: down");
        BallastException refused = new BallastException(ErrorCode.FAILED_PRECONDITION, "delete on n3: busy");
        AtomicInteger ran = new AtomicInteger();
        BallastException thrown = assertThrows(BallastException.class, () -> NodeAdminClients.allAtOnce(List.of(
                ran::incrementAndGet,
                () -> {
                    ran.incrementAndGet();
                    throw down;
                },
                () -> {
                    ran.incrementAndGet();
                    throw refused;
                })));
        assertSame(down, thrown, "in the order of the calls");
        assertEquals(List.of(refused), List.of(thrown.getSuppressed()));
        assertEquals(3, ran.get(), "a failure stops no other call");
    }
}
