package io.ballast.metrics;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tls.ServerTls;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Prometheus endpoint of a Ballast process ({@code --metrics-listen}): {@code /metrics} in the
 * Prometheus text format, with the JVM's metrics and whatever the process registered. Served by
 * Prometheus's own Java client (the standard exporter). With the process's TLS material it is
 * HTTPS and requires a client certificate of the cluster, as every other port: the metrics name
 * volumes, nodes and addresses, which is a map of the cluster for whoever can reach the port.
 * Prometheus scrapes it with {@code scheme: https} and a {@code tls_config} naming a certificate
 * from {@code ballast certs issue}.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsEndpoint.class);
    private final HTTPServer server;

    private MetricsEndpoint(HTTPServer server) {
        this.server = server;
    }

    /**
     * Starts serving {@code registry} (plus JVM metrics) on {@code address}: HTTPS with mutual TLS
     * over {@code tls}, or plain HTTP (logged as a warning) when it is null. UNAVAILABLE when it
     * cannot bind.
     */
    public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry, TlsMaterial tls) {
        JvmMetrics.builder().register(registry);
        try {
            HTTPServer.Builder b = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry);
            if (tls != null) {
                b.httpsConfigurator(new ClientCertificateRequired(ServerTls.context(tls, "the metrics endpoint")));
            }
            MetricsEndpoint endpoint = new MetricsEndpoint(b.buildAndStart());
            if (tls == null) {
                LOG.warn("Prometheus metrics on http://{}:{}/metrics are PLAINTEXT: any caller that reaches the port reads them "
                        + "(give --tls-dir with the cluster's certificates)", address.getHostString(), endpoint.port());
            } else {
                LOG.info("Prometheus metrics on https://{}:{}/metrics (a client certificate of the cluster required)",
                        address.getHostString(), endpoint.port());
            }
            return endpoint;
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

    /** The JDK HTTPS server's setup: the context's defaults, a client certificate required. */
    private static final class ClientCertificateRequired extends HttpsConfigurator {
        ClientCertificateRequired(SSLContext context) {
            super(context);
        }

        @Override
        public void configure(HttpsParameters params) {
            SSLParameters p = getSSLContext().getDefaultSSLParameters();
            p.setNeedClientAuth(true);
            params.setSSLParameters(p);
        }
    }
}
