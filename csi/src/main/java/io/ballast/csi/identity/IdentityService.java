package io.ballast.csi.identity;

import com.google.protobuf.BoolValue;
import io.ballast.csi.CsiCalls;
import io.ballast.proto.csi.v1.GetPluginCapabilitiesRequest;
import io.ballast.proto.csi.v1.GetPluginCapabilitiesResponse;
import io.ballast.proto.csi.v1.GetPluginInfoRequest;
import io.ballast.proto.csi.v1.GetPluginInfoResponse;
import io.ballast.proto.csi.v1.IdentityGrpc;
import io.ballast.proto.csi.v1.PluginCapability;
import io.ballast.proto.csi.v1.ProbeRequest;
import io.ballast.proto.csi.v1.ProbeResponse;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The CSI Identity service: who the plugin is, what it offers, and whether it is ready.
 *
 * <p>Probe answers {@code ready=false} (not an error) while the readiness check says no, e.g. before
 * the catalog has a leader: the spec reserves errors for a plugin that is unhealthy, and the
 * sidecars wait on ready=false instead of restarting the container. A readiness check that throws
 * is reported through the usual error mapping (FAILED_PRECONDITION/UNAVAILABLE/INTERNAL by its code).
 *
 * <p>Thread-safe: no state besides the injected readiness check, which must itself be thread-safe.
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {
    /** The plugin name Kubernetes refers to (CSIDriver object, StorageClass provisioner). */
    public static final String PLUGIN_NAME = "ballast.csi.io";

    private final String version;
    private final BooleanSupplier ready;

    /** The controller's identity: this build's version, ready when the backend is. */
    public static IdentityService forController(io.ballast.cluster.ClusterBackend backend) {
        return new IdentityService(BallastVersion.version(), backend::ready);
    }

    /**
     * @param version     vendor_version, e.g. {@code BallastVersion.version()}
     * @param ready       the readiness check (for the controller: {@code backend::ready})
     */
    public IdentityService(String version, BooleanSupplier ready) {
        this.version = Objects.requireNonNull(version);
        this.ready = Objects.requireNonNull(ready);
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#getplugininfo
    @Override
    public void getPluginInfo(GetPluginInfoRequest request, StreamObserver<GetPluginInfoResponse> out) {
        CsiCalls.unary(out, () -> GetPluginInfoResponse.newBuilder().setName(PLUGIN_NAME).setVendorVersion(version).build());
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#getplugincapabilities
    @Override
    public void getPluginCapabilities(GetPluginCapabilitiesRequest request, StreamObserver<GetPluginCapabilitiesResponse> out) {
        CsiCalls.unary(out, () -> {
            var b = GetPluginCapabilitiesResponse.newBuilder();
            // Every instance answers alike, node or controller (CSI: "all instances of the same version
            // of a plugin SHALL return the same set of capabilities, regardless of ... which RPCs
            // the instance serves"): a CO asking a node's socket must still learn there is a controller.
            b.addCapabilities(service(PluginCapability.Service.Type.CONTROLLER_SERVICE));
            // topology: placement follows preferred/requisite segments; volumes are reachable from every node of the cluster
            b.addCapabilities(service(PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS));
            b.addCapabilities(PluginCapability.newBuilder().setVolumeExpansion(
                    PluginCapability.VolumeExpansion.newBuilder().setType(PluginCapability.VolumeExpansion.Type.ONLINE)));
            return b.build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#probe
    @Override
    public void probe(ProbeRequest request, StreamObserver<ProbeResponse> out) {
        CsiCalls.unary(out, () -> ProbeResponse.newBuilder().setReady(BoolValue.of(ready.getAsBoolean())).build());
    }

    private static PluginCapability service(PluginCapability.Service.Type type) {
        return PluginCapability.newBuilder().setService(PluginCapability.Service.newBuilder().setType(type)).build();
    }
}
