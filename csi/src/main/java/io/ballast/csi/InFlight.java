package io.ballast.csi;

import io.ballast.csi.CsiCalls;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The set of keys (volume ids, volume and snapshot names) that a mutating CSI operation is working
 * on. A second operation on a busy key is refused at once with ABORTED, never queued: the CO retries
 * with backoff anyway, and a blocked gRPC thread per retry would pile up behind a slow replica
 * placement (the same reasoning as aws-ebs-csi-driver's {@code inflight}).
 *
 * <p>Keys are plain strings chosen to read well in the ABORTED message, e.g. {@code volume vol-1} or
 * {@code volume name pvc-1}. Thread-safe; {@link #call} takes all its keys or none.
 */
public final class InFlight {
    /** key -> the operation holding it (for the message the loser gets). */
    private final ConcurrentHashMap<String, String> held = new ConcurrentHashMap<>();

    /**
     * Runs {@code body} holding every key for {@code operation}, releasing them when it returns or
     * throws. If any key is held by another operation, nothing is taken, {@code body} does not run,
     * and the call throws ABORTED naming the busy key and its holder.
     */
    public <T> T call(String operation, List<String> keys, Supplier<T> body) {
        List<String> taken = acquire(operation, keys);
        try {
            return body.get();
        } finally {
            taken.forEach(held::remove);
        }
    }

    private List<String> acquire(String operation, List<String> keys) {
        Set<String> unique = new LinkedHashSet<>(keys);
        List<String> taken = new ArrayList<>(unique.size());
        for (String key : unique) {
            String holder = held.putIfAbsent(key, operation);
            if (holder != null) {
                taken.forEach(held::remove);
                throw CsiCalls.aborted(holder + " is in progress on " + key + "; " + operation
                        + " was not started, retry when it has finished");
            }
            taken.add(key);
        }
        return taken;
    }

    /** True when some operation holds the key (for tests and diagnostics). */
    public boolean busy(String key) {
        return held.containsKey(key);
    }
}
