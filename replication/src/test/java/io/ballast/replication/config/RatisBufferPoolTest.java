package io.ballast.replication.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RatisBufferPoolTest {
    private final Map<String, String> before = new HashMap<>();

    @BeforeEach
    void remember() {
        RatisBufferPool.SETTINGS.keySet().forEach(k -> before.put(k, System.getProperty(RatisBufferPool.PREFIX + k)));
    }

    @AfterEach
    void restore() {
        before.forEach((k, v) -> {
            if (v == null) {
                System.clearProperty(RatisBufferPool.PREFIX + k);
            } else {
                System.setProperty(RatisBufferPool.PREFIX + k, v);
            }
        });
    }

    @Test
    void setsWhatTheOperatorDidNotAndKeepsWhatTheOperatorSet() {
        RatisBufferPool.SETTINGS.keySet().forEach(k -> System.clearProperty(RatisBufferPool.PREFIX + k));
        System.setProperty(RatisBufferPool.PREFIX + "maxCachedBufferCapacity", "65536");
        RatisBufferPool.configure();
        assertEquals("65536", System.getProperty(RatisBufferPool.PREFIX + "maxCachedBufferCapacity"));
        assertEquals("true", System.getProperty(RatisBufferPool.PREFIX + "useCacheForAllThreads"));
        assertEquals("1000", System.getProperty(RatisBufferPool.PREFIX + "cacheTrimIntervalMillis"));
        assertEquals("64", System.getProperty(RatisBufferPool.PREFIX + "cacheTrimInterval"));
    }
}
