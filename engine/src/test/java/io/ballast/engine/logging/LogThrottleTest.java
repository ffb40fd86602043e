package io.ballast.engine.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogThrottleTest {
    @Test
    void oneLinePerKeyPerIntervalSayingHowManyWereLeftOut() {
        AtomicLong now = new AtomicLong();
        LogThrottle t = new LogThrottle(Duration.ofSeconds(60), now::get);
        assertEquals("", t.admit("CreateVolume RESOURCE_EXHAUSTED"));
        assertEquals("", t.admit("other"), "keys are independent");
        for (int i = 0; i < 11; i++) {
            now.addAndGet(Duration.ofSeconds(5).toNanos());
            assertNull(t.admit("CreateVolume RESOURCE_EXHAUSTED"));
        }
        now.addAndGet(Duration.ofSeconds(6).toNanos()); // 61 s after the first line
        assertEquals(" (+11 like it in the last 60 s)", t.admit("CreateVolume RESOURCE_EXHAUSTED"));
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        assertEquals("", t.admit("CreateVolume RESOURCE_EXHAUSTED"), "nothing left out since the last line");
    }

    @Test
    void forgetsTheOldestKeysBeyondItsBound() {
        AtomicLong now = new AtomicLong();
        LogThrottle t = new LogThrottle(Duration.ofSeconds(60), now::get);
        for (int i = 0; i <= LogThrottle.MAX_KEYS; i++) {
            t.admit("k" + i);
        }
        assertEquals("", t.admit("k0"), "k0 was forgotten, so it logs again");
        assertNull(t.admit("k" + LogThrottle.MAX_KEYS), "a recent key is still throttled");
    }
}
