package io.ballast.replication.config;

import java.util.Map;
import org.apache.ratis.thirdparty.io.netty.buffer.PooledByteBufAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The buffer pool of Ratis's shaded Netty, which carries every replicated byte (a leader's appends
 * to its followers, a follower's receipt of them). Netty reads these settings once, when its
 * allocator class loads, so {@link #configure} runs before a node builds its Raft server.
 *
 * <p><b>Why.</b> By default Netty caches released buffers of at most 32 KiB, and only on its own
 * event-loop threads. Ratis's log appenders (threads of their own) frame each append in buffers of
 * up to 1 MiB, and a follower's HTTP/2 decoder gathers reads in buffers above 32 KiB: none reached
 * a cache, so a pool chunk emptied at every release, was freed, and the next allocation made and
 * zeroed a new 4 MiB one. During 1 MiB writes that was 8 % of a leader's and 19 % of a follower's
 * JVM samples (JFR). With a cache on every thread for buffers up to 2 MiB, trimmed every second (an
 * idle appender gives its buffers back): docs/benchmarks.md, "The write path's CPU". An operator's
 * own {@code -Dorg.apache.ratis.thirdparty.io.netty.allocator.*} wins.
 */
public final class RatisBufferPool {
    private static final Logger LOG = LoggerFactory.getLogger(RatisBufferPool.class);
    static final String PREFIX = "org.apache.ratis.thirdparty.io.netty.allocator.";
    static final Map<String, String> SETTINGS = Map.of(
            "maxCachedBufferCapacity", Integer.toString(2 << 20),
            "useCacheForAllThreads", "true",
            "cacheTrimIntervalMillis", "1000");

    private RatisBufferPool() {
    }

    /** Sets what the operator did not; warns when Netty's allocator had loaded before (the settings then apply from the next start). */
    public static synchronized void configure() {
        SETTINGS.forEach((key, value) -> {
            if (System.getProperty(PREFIX + key) == null) {
                System.setProperty(PREFIX + key, value);
            }
        });
        boolean wanted = Boolean.parseBoolean(System.getProperty(PREFIX + "useCacheForAllThreads"));
        if (PooledByteBufAllocator.defaultUseCacheForAllThreads() != wanted) {
            LOG.warn("Ratis's Netty allocator loaded before its settings were made: replication runs with Netty's default buffer caching");
        }
    }
}
