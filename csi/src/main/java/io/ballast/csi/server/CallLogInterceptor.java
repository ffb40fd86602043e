package io.ballast.csi.server;

import io.ballast.engine.logging.LogThrottle;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs every CSI call once, when it completes: method, a summary of the request with secrets
 * stripped ({@link Secrets}), the status code and the duration, plus the error description when it
 * failed. One line per call is what an operator greps for when a PVC hangs.
 *
 * <p>Levels: failures the caller should retry or fix (everything but INTERNAL/UNKNOWN) at INFO,
 * INTERNAL/UNKNOWN at WARN, the same failure repeated (sidecar retries) once a minute with a count, successes at INFO except the Identity calls, which the liveness probe
 * sidecar makes every few seconds and which would bury everything else: those are at DEBUG.
 *
 * <p>Thread-safe; per-call state lives in the call wrapper, and gRPC delivers a call's events serially.
 */
public final class CallLogInterceptor implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger("io.ballast.csi.calls");
    /** Repeated failures (same method, code and message) log once a minute. */
    private static final LogThrottle FAILURES = new LogThrottle(java.time.Duration.ofMinutes(1));

    private final Consumer<String> observer;

    public CallLogInterceptor() {
        this(line -> { });
    }

    /** Also hands every line to {@code observer} (tests check what would be logged; must be thread-safe). */
    public CallLogInterceptor(Consumer<String> observer) {
        this.observer = observer;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        boolean chatty = "csi.v1.Identity".equals(call.getMethodDescriptor().getServiceName());
        long start = System.nanoTime();
        LoggedCall<Q, R> logged = new LoggedCall<>(call, method, chatty, start, observer);
        ServerCall.Listener<Q> listener = next.startCall(logged, headers);
        return new SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onMessage(Q message) {
                logged.request = Secrets.summary(message); // summarised now: the handler may be slow
                super.onMessage(message);
            }
        };
    }

    private static final class LoggedCall<Q, R> extends SimpleForwardingServerCall<Q, R> {
        private final Consumer<String> observer;
        private final String method;
        private final boolean chatty;
        private final long start;
        private volatile String request = "";

        LoggedCall(ServerCall<Q, R> delegate, String method, boolean chatty, long start, Consumer<String> observer) {
            super(delegate);
            this.observer = observer;
            this.method = method;
            this.chatty = chatty;
            this.start = start;
        }

        @Override
        public void close(Status status, Metadata trailers) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            Status.Code code = status.getCode();
            String line = method + " {" + request + "} -> " + code + " in " + millis + " ms"
                    + (code == Status.Code.OK ? "" : ": " + status.getDescription());
            if (code == Status.Code.OK) {
                if (chatty) {
                    LOG.debug(line);
                } else {
                    LOG.info(line);
                }
            } else {
                // Sidecars retry a failing call with backoff: the same failure is one line a minute.
                String suffix = FAILURES.admit(method + " " + code + " " + status.getDescription());
                if (suffix != null && (code == Status.Code.INTERNAL || code == Status.Code.UNKNOWN)) {
                    LOG.warn(line + suffix);
                } else if (suffix != null) {
                    LOG.info(line + suffix);
                }
            }
            observer.accept(line);
            super.close(status, trailers);
        }
    }
}
