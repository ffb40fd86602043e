package io.ballast.cli;

import io.ballast.cluster.ClusterBackend;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.cluster.NodeAdminClients;
import io.ballast.cluster.VolumeEncryption;
import io.ballast.daemon.VolumeSpec;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.replication.tls.TlsMaterial;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The volume of {@code ballast dev up}: created through the same backend the CSI controller uses
 * (placement, catalog records), published on n1 and attached there over NBD, as a pod's node would.
 */
record DevVolume(String id, List<String> placement, String home, String nbdUri) {

    /** Creates (if absent) and publishes the volume on n1 (or its first replica's node); no attach. */
    static DevVolume create(ClusterBackend backend, int nodes, VolumeSpec spec, int replicas, boolean encrypted)
            throws InterruptedException {
        VolumeRecord v = createAndPublish(backend, nodes, spec, replicas, encrypted);
        return new DevVolume(v.id(), v.placement(), home(v), null);
    }

    private static String home(VolumeRecord v) {
        return v.placement().contains("n1") ? "n1" : v.placement().get(0);
    }

    static DevVolume createAndAttach(ClusterBackend backend, int nodes, VolumeSpec spec, int replicas, TlsMaterial tls)
            throws InterruptedException {
        VolumeRecord v = createAndPublish(backend, nodes, spec, replicas, false);
        String home = home(v);
        String id = v.id();
        try (NodeAdminClients admins = new NodeAdminClients(tls)) {
            String uri = admins.call(backend.node(home).orElseThrow().adminAddress(), Duration.ofSeconds(60),
                    "attach " + id + " on " + home,
                    s -> s.attachVolume(AttachVolumeRequest.newBuilder().setName(id).build())).getNbdUri();
            return new DevVolume(id, v.placement(), home, uri);
        }
    }

    private static VolumeRecord createAndPublish(ClusterBackend backend, int nodes, VolumeSpec spec, int replicas,
            boolean encrypted) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                if (backend.nodes().stream().filter(ClusterBackend.NodeRecord::up).count() == nodes) {
                    break;
                }
            } catch (BallastException e) {
                // the catalog has no leader yet
            }
            if (System.nanoTime() > deadline) {
                throw new BallastException(ErrorCode.UNAVAILABLE, "the " + nodes + " nodes did not register in the catalog within 60 s");
            }
            Thread.sleep(200);
        }
        VolumeRecord v = backend.volumeByName(spec.name()).orElse(null);
        if (v == null) {
            Map<String, String> parameters = new java.util.TreeMap<>(Map.of("replicas", Integer.toString(replicas)));
            if (encrypted) {
                parameters.put(VolumeEncryption.PARAMETER, "true");
            }
            v = backend.createVolume(new ClusterBackend.VolumeSpec(spec.name(), spec.sizeBytes(), replicas,
                    parameters, null, null, List.of(), List.of()));
        }
        return backend.publish(v.id(), home(v), false, true);
    }
}
