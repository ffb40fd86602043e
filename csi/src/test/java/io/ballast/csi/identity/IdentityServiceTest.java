package io.ballast.csi.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.InProcessCsi;
import io.ballast.csi.controller.InMemoryClusterBackend;
import io.ballast.proto.csi.v1.GetPluginCapabilitiesRequest;
import io.ballast.proto.csi.v1.GetPluginInfoRequest;
import io.ballast.proto.csi.v1.GetPluginInfoResponse;
import io.ballast.proto.csi.v1.PluginCapability;
import io.ballast.proto.csi.v1.ProbeRequest;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IdentityServiceTest {
    private final InMemoryClusterBackend backend = new InMemoryClusterBackend();
    private InProcessCsi csi;

    @BeforeEach
    void start() throws Exception {
        csi = new InProcessCsi(backend);
    }

    @AfterEach
    void stop() throws Exception {
        csi.close();
    }

    @Test
    void pluginInfoNamesTheDriverAndThisBuild() {
        GetPluginInfoResponse info = csi.identity.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
        assertEquals("ballast.csi.io", info.getName());
        assertEquals(BallastVersion.version(), info.getVendorVersion());
        assertFalse(info.getVendorVersion().isEmpty());
    }

    @Test
    void capabilitiesAdvertiseControllerTopologyAndOnlineExpansion() {
        var caps = csi.identity.getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList();
        Set<PluginCapability.Service.Type> services = caps.stream().filter(PluginCapability::hasService)
                .map(c -> c.getService().getType()).collect(Collectors.toSet());
        assertEquals(Set.of(PluginCapability.Service.Type.CONTROLLER_SERVICE,
                PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS), services);
        assertEquals(1, caps.stream().filter(PluginCapability::hasVolumeExpansion)
                .filter(c -> c.getVolumeExpansion().getType() == PluginCapability.VolumeExpansion.Type.ONLINE).count());
        assertEquals(3, caps.size());
    }

    @Test
    void probeFollowsBackendReadinessWithoutFailing() {
        var first = csi.identity.probe(ProbeRequest.getDefaultInstance());
        assertTrue(first.hasReady());
        assertTrue(first.getReady().getValue());
        backend.setReady(false);
        var notReady = csi.identity.probe(ProbeRequest.getDefaultInstance());
        assertTrue(notReady.hasReady());
        assertFalse(notReady.getReady().getValue());
        backend.setReady(true);
        assertTrue(csi.identity.probe(ProbeRequest.getDefaultInstance()).getReady().getValue());
    }

    @Test
    void everyInstanceAdvertisesTheSameCapabilitiesIncludingTheControllerService() throws Exception {
        // The node's socket and the controller's answer alike (CSI spec): a CO that asks a node
        // must still learn that a Controller service exists and call ControllerPublish first.
        var node = capabilities(new IdentityService("1.2.3", () -> true));
        var controller = capabilities(new IdentityService("1.2.3", () -> false));
        assertEquals(controller, node);
        assertTrue(node.getCapabilitiesList().stream().anyMatch(c -> c.hasService()
                && c.getService().getType() == PluginCapability.Service.Type.CONTROLLER_SERVICE));
    }

    private static io.ballast.proto.csi.v1.GetPluginCapabilitiesResponse capabilities(IdentityService service) {
        var replies = new java.util.ArrayList<io.ballast.proto.csi.v1.GetPluginCapabilitiesResponse>();
        service.getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance(), new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(io.ballast.proto.csi.v1.GetPluginCapabilitiesResponse value) {
                replies.add(value);
            }

            @Override
            public void onError(Throwable t) {
                throw new AssertionError(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        assertEquals(1, replies.size());
        return replies.get(0);
    }
}
