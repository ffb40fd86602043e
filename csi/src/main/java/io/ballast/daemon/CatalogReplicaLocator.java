package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.volumes.AttachedVolumeDevices;
import java.util.LinkedHashMap;
import java.util.Map;

/** A volume's replicas as the catalog places them, with the raft addresses their nodes report. */
final class CatalogReplicaLocator implements AttachedVolumeDevices.ReplicaLocator {
    private final CatalogClient catalog;

    CatalogReplicaLocator(CatalogClient catalog) {
        this.catalog = catalog;
    }

    @Override
    public Map<String, String> replicasOf(String volumeId) {
        CatalogState state = catalog.read();
        CatalogVolume volume = state.getVolumesList().stream().filter(v -> v.getId().equals(volumeId)).findFirst()
                .orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "the catalog knows no volume " + volumeId));
        Map<String, String> addresses = new LinkedHashMap<>();
        for (CatalogNode n : state.getNodesList()) {
            addresses.put(n.getNodeId(), n.getRaftAddress());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String nodeId : volume.getPlacementList()) {
            String address = addresses.get(nodeId);
            if (address != null && !address.isEmpty()) {
                out.put(nodeId, address);
            }
        }
        if (out.isEmpty()) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + volumeId + " has no replica node with a known address "
                    + "(placement " + volume.getPlacementList() + ")");
        }
        return out;
    }
}
