package io.ballast.engine.attach;

import java.time.Duration;

/**
 * Settings of an {@link NbdAttacher}.
 *
 * @param handshakeTimeout longest wait for the NBD server during a handshake, and for the kernel
 *                         to answer a netlink request
 * @param deadConnTimeout  how long the kernel holds I/O of a device whose connection died, waiting
 *                         for a reconnect (NBD_ATTR_DEAD_CONN_TIMEOUT): must cover a restart of
 *                         {@code ballast node}; after it, queued and new I/O fails with EIO
 * @param requestTimeout   per-request timeout (NBD_ATTR_TIMEOUT); zero = not set, the kernel then
 *                         waits for a slow request instead of failing it (a leader election is slow)
 * @param detachTimeout    longest wait for the kernel to release a device after the disconnect
 */
public record NbdAttachConfig(Duration handshakeTimeout, Duration deadConnTimeout, Duration requestTimeout,
                              Duration detachTimeout) {
    public NbdAttachConfig {
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero() || deadConnTimeout.isNegative()
                || requestTimeout.isNegative() || detachTimeout.isNegative() || detachTimeout.isZero()) {
            throw new IllegalArgumentException("NBD attach timeouts must be positive (dead-connection and request "
                    + "timeouts may be zero)");
        }
    }

    /** 10 s handshake, 120 s dead-connection timeout, no request timeout, 10 s detach. */
    public static NbdAttachConfig defaults() {
        return new NbdAttachConfig(Duration.ofSeconds(10), Duration.ofSeconds(120), Duration.ZERO,
                Duration.ofSeconds(10));
    }

    public NbdAttachConfig withDeadConnTimeout(Duration d) {
        return new NbdAttachConfig(handshakeTimeout, d, requestTimeout, detachTimeout);
    }
}
