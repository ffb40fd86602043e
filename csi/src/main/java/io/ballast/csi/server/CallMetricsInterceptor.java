package io.ballast.csi.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Counts every CSI call by method and gRPC code ({@code ballast_csi_calls_total}) and times it
 * ({@code ballast_csi_call_seconds}), so an operator sees e.g. how often the sidecars were told
 * ABORTED or how long CreateVolume takes. Thread-safe.
 */
public final class CallMetricsInterceptor implements ServerInterceptor {
    private final Counter calls;
    private final Histogram seconds;

    public CallMetricsInterceptor(PrometheusRegistry registry) {
        calls = Counter.builder().name("ballast_csi_calls_total").help("CSI calls answered, by method and gRPC code")
                .labelNames("method", "code").register(registry);
        seconds = Histogram.builder().name("ballast_csi_call_seconds").help("Time to answer a CSI call, by method")
                .labelNames("method").register(registry);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                calls.labelValues(method, status.getCode().name()).inc();
                seconds.labelValues(method).observe((System.nanoTime() - start) / 1e9);
                super.close(status, trailers);
            }
        }, headers);
    }
}
