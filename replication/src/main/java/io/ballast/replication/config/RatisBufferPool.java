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
 * JVM samples (JFR). So: a cache on every thread for buffers up to 2 MiB (docs/benchmarks.md,
 * "The write path's CPU").
 *
 * <p><b>Bounded.</b> A thread's cache is trimmed (what it did not reuse since the last trim is
 * freed) only every {@code cacheTrimInterval} allocations on that thread, 8192 by default; the
 * time-based trim runs on event loops only. An appender idle after a burst kept its buffers: 10
 * volumes written once kept 127 MiB more direct memory on their leader, still held after 30 s idle
 * (Ratis's own log buffers take ~8 MiB per group beside it, within the JVM's 1 GiB). Every 64
 * allocations, which an idle appender's heartbeats reach within seconds, it kept 10 MiB, and 1 MiB
 * writes still ran without a chunk freed. An operator's own
 * {@code -Dorg.apache.ratis.thirdparty.io.netty.allocator.*} wins.
 */
public final class RatisBufferPool {
    private static final Logger LOG = LoggerFactory.getLogger(RatisBufferPool.class);
    static final String PREFIX = "org.apache.ratis.thirdparty.io.netty.allocator.";
    static final Map<String, String> SETTINGS = Map.of(
            "maxCachedBufferCapacity", Integer.toString(2 << 20),
            "useCacheForAllThreads", "true",
            "cacheTrimInterval", "64",
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
