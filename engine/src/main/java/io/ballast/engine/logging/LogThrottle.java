package io.ballast.engine.logging;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * One log line per repeated condition per interval instead of one per event: the first occurrence
 * of a key is logged; later ones within {@code interval} are counted, and the next line logged for
 * that key says how many were left out ("(+N like it in the last 60 s)"). A sidecar retrying a
 * failing CSI call every few seconds, or a client reconnecting in a loop, then costs a line a
 * minute. Keys are whatever identifies "the same condition" to the caller (call, code and message).
 *
 * <p>Thread-safe; remembers at most {@link #MAX_KEYS} keys (the oldest are forgotten).
 */
public final class LogThrottle {
    static final int MAX_KEYS = 1024;

    private final long intervalNanos;
    private final LongSupplier clock;
    private final Map<String, long[]> seen = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
            return size() > MAX_KEYS;
        }
    };

    public LogThrottle(java.time.Duration interval) {
        this(interval, System::nanoTime);
    }

    LogThrottle(java.time.Duration interval, LongSupplier nanoClock) {
        this.intervalNanos = interval.toNanos();
        this.clock = nanoClock;
    }

    /**
     * Null when this occurrence of {@code key} is to be left out; else the suffix to append to the
     * line ("" the first time, or how many like it were left out since the last line).
     */
    public synchronized String admit(String key) {
        long now = clock.getAsLong();
        long[] s = seen.get(key); // {last logged at, left out since}
        if (s == null) {
            seen.put(key, new long[] {now, 0});
            return "";
        }
        if (now - s[0] < intervalNanos) {
            s[1]++;
            return null;
        }
        long leftOut = s[1];
        s[0] = now;
        s[1] = 0;
        return leftOut == 0 ? "" : " (+" + leftOut + " like it in the last " + (intervalNanos / 1_000_000_000L) + " s)";
    }
}
