package io.ballast.engine.nbd;

import java.nio.file.Path;
import javax.net.ssl.SSLContext;

/**
 * Settings of an {@link NbdServer}. At least one listener (unix socket or TCP) is required.
 *
 * @param unixSocket          unix socket path to listen on (epoll), or null; a stale socket file is replaced
 * @param tcpHost             TCP bind address (null = all interfaces) when {@code tcpPort} is set
 * @param tcpPort             TCP port (0 = ephemeral, see {@link NbdServer#tcpPort()}), or null for no TCP
 * @param maxPayload          largest READ/WRITE length accepted and advertised (NBD_INFO_BLOCK_SIZE max)
 * @param workerThreads       event-loop threads shared by all connections
 * @param maxInFlightRequests per connection: stop reading new requests at this many unanswered ones
 * @param maxInFlightBytes    per connection: stop reading when READ/WRITE payloads held reach this
 * @param tcpTls              TLS for TCP connections, required of every one (NBD_OPT_STARTTLS, with a
 *                            client certificate the context's trust manager accepts), or null for
 *                            plaintext TCP; unix socket connections are local and stay plaintext
 */
public record NbdServerConfig(Path unixSocket, String tcpHost, Integer tcpPort, int maxPayload, int workerThreads,
                             int maxInFlightRequests, long maxInFlightBytes, SSLContext tcpTls) {

    public static final int DEFAULT_MAX_IN_FLIGHT_REQUESTS = 256;

    public NbdServerConfig {
        if (unixSocket == null && tcpPort == null) {
            throw new IllegalArgumentException("NBD server needs a unix socket path or a TCP port");
        }
        if (tcpPort != null && (tcpPort < 0 || tcpPort > 65535)) {
            throw new IllegalArgumentException("TCP port out of range: " + tcpPort);
        }
        if (maxPayload < NbdConstants.DEFAULT_PREFERRED_BLOCK) {
            throw new IllegalArgumentException("maxPayload must be >= 4096 (the preferred block size): " + maxPayload);
        }
        if (workerThreads < 1 || maxInFlightRequests < 1) {
            throw new IllegalArgumentException("workerThreads and maxInFlightRequests must be >= 1");
        }
        if (maxInFlightBytes < maxPayload) {
            throw new IllegalArgumentException("maxInFlightBytes must be >= maxPayload: " + maxInFlightBytes);
        }
    }

    /** Listens on a unix socket only, with default limits. */
    public static NbdServerConfig unix(Path socket) {
        return new NbdServerConfig(socket, null, null, NbdConstants.DEFAULT_MAX_PAYLOAD, defaultWorkers(),
                DEFAULT_MAX_IN_FLIGHT_REQUESTS, 2L * NbdConstants.DEFAULT_MAX_PAYLOAD, null);
    }

    public NbdServerConfig withTcp(String host, int port) {
        return new NbdServerConfig(unixSocket, host, port, maxPayload, workerThreads, maxInFlightRequests,
                maxInFlightBytes, tcpTls);
    }

    /** Also raises maxInFlightBytes to twice the payload if it was lower. */
    public NbdServerConfig withMaxPayload(int bytes) {
        return new NbdServerConfig(unixSocket, tcpHost, tcpPort, bytes, workerThreads, maxInFlightRequests,
                Math.max(maxInFlightBytes, 2L * bytes), tcpTls);
    }

    public NbdServerConfig withWorkerThreads(int threads) {
        return new NbdServerConfig(unixSocket, tcpHost, tcpPort, maxPayload, threads, maxInFlightRequests,
                maxInFlightBytes, tcpTls);
    }

    public NbdServerConfig withInFlightLimits(int requests, long bytes) {
        return new NbdServerConfig(unixSocket, tcpHost, tcpPort, maxPayload, workerThreads, requests, bytes, tcpTls);
    }

    /** TCP connections must upgrade to TLS with {@code tls} (which also checks the client's certificate). */
    public NbdServerConfig withTcpTls(SSLContext tls) {
        return new NbdServerConfig(unixSocket, tcpHost, tcpPort, maxPayload, workerThreads, maxInFlightRequests,
                maxInFlightBytes, tls);
    }

    private static int defaultWorkers() {
        // 2-core machines run several JVMs and fio: keep the default small.
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    }
}
