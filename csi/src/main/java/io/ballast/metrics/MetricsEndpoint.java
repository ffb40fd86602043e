package io.ballast.metrics;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The Prometheus endpoint of a Ballast process ({@code --metrics-listen}): {@code /metrics} in the
 * Prometheus text format over HTTP, with the JVM's metrics and whatever the process registered.
 * Served by Prometheus's own Java client (the standard exporter).
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HTTPServer server;

    private MetricsEndpoint(HTTPServer server) {
        this.server = server;
    }

    /** Starts serving {@code registry} (plus JVM metrics) on {@code address}. UNAVAILABLE when it cannot bind. */
    public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry) {
        JvmMetrics.builder().register(registry);
        try {
            return new MetricsEndpoint(HTTPServer.builder().hostname(address.getHostString()).port(address.getPort())
                    .registry(registry).buildAndStart());
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot serve metrics on " + address + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
