package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Waits at start for a {@link CatalogMemberSource} to name the catalog's members. */
public final class CatalogDiscovery {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogDiscovery.class);
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static final Duration SAY_AGAIN = Duration.ofSeconds(30);

    private CatalogDiscovery() {
    }

    /**
     * The members, once the source names at least one; meanwhile says what it waits for (once,
     * then every 30 s). A node plugin starting before the API server answers, or before any node
     * qualifies, just waits: Kubernetes restarts would only add noise.
     */
    public static Map<String, String> await(CatalogMemberSource source) throws InterruptedException {
        long saidAt = 0;
        while (true) {
            String why;
            try {
                Map<String, String> members = source.members();
                if (!members.isEmpty()) {
                    LOG.info("catalog members {} (from {})", members, source.describe());
                    return members;
                }
                why = "no node qualifies yet";
            } catch (BallastException e) {
                why = e.getMessage();
            }
            long now = System.nanoTime();
            if (saidAt == 0 || now - saidAt >= SAY_AGAIN.toNanos()) {
                LOG.info("waiting for the catalog's members from {}: {}", source.describe(), why);
                saidAt = now;
            }
            Thread.sleep(RETRY.toMillis());
        }
    }
}
