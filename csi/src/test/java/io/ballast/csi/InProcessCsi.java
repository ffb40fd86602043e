package io.ballast.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.cluster.ClusterBackend;
import io.ballast.csi.controller.ControllerService;
import io.ballast.csi.identity.IdentityService;
import io.ballast.csi.server.CallLogInterceptor;
import io.ballast.proto.csi.v1.ControllerGrpc;
import io.ballast.proto.csi.v1.IdentityGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.function.Executable;

/**
 * The Identity and Controller services over a ClusterBackend, served in-process and called through a
 * real gRPC channel (so requests and replies are serialised, codes travel as statuses, and the
 * logging interceptor runs exactly as on the unix socket). Handlers run on gRPC's default executor,
 * so concurrent calls really are concurrent.
 */
public final class InProcessCsi implements AutoCloseable {
    /** The cluster id the in-process controller serves (it names the volumes' topology segment). */
    public static final String CLUSTER_ID = "c1";

    public final IdentityGrpc.IdentityBlockingStub identity;
    public final ControllerGrpc.ControllerBlockingStub controller;
    public final ControllerGrpc.ControllerFutureStub controllerAsync;
    /** Every line the call log wrote, in completion order. */
    public final List<String> log = new CopyOnWriteArrayList<>();
    private final Server server;
    private final ManagedChannel channel;
    /** The service behind {@link #controller} (tests tune it). */
    public final ControllerService controllerService;

    public InProcessCsi(ClusterBackend backend) throws IOException {
        String name = InProcessServerBuilder.generateName();
        CallLogInterceptor interceptor = new CallLogInterceptor(log::add);
        controllerService = new ControllerService(backend, CLUSTER_ID);
        server = InProcessServerBuilder.forName(name)
                .addService(ServerInterceptors.intercept(IdentityService.forController(backend), interceptor))
                .addService(ServerInterceptors.intercept(controllerService, interceptor))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        identity = IdentityGrpc.newBlockingStub(channel);
        controller = ControllerGrpc.newBlockingStub(channel);
        controllerAsync = ControllerGrpc.newFutureStub(channel);
    }

    /** Asserts the call fails with exactly {@code code}; returns the status for message checks. */
    public static Status assertCode(Status.Code code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().getDescription());
        return e.getStatus();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
