package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether a node can be evacuated: every volume with a replica on it needs an up, undrained node
 * with room outside its placement to hold the copy. Checked per volume against the catalog as read
 * now; when several volumes compete for the last free space the repair loop says which one waits.
 */
public final class EvacuationRoom {
    private EvacuationRoom() {
    }

    /** FAILED_PRECONDITION naming every volume that has nowhere to go; nothing when all have. */
    public static void require(CatalogState state, String nodeId, long nowMillis, Duration downAfter) {
        ClusterView view = new ClusterView(state, nowMillis, downAfter);
        List<String> stuck = new ArrayList<>();
        for (CatalogVolume v : state.getVolumesList()) {
            if (!v.getPlacementList().contains(nodeId)) {
                continue;
            }
            Set<String> exclude = new HashSet<>(v.getPlacementList());
            exclude.add(nodeId);
            try {
                Placement.choose(view.candidates(), 1, v.getSizeBytes(), List.of(), List.of(), exclude, Set.of());
            } catch (BallastException e) {
                stuck.add(v.getName() + " (" + v.getId() + ", " + (v.getSizeBytes() >> 20) + " MiB): " + e.getMessage());
            }
        }
        if (!stuck.isEmpty()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + nodeId + " cannot be evacuated: "
                    + stuck.size() + " volume(s) have no up, undrained node with room outside their placement: "
                    + String.join("; ", stuck) + ". Add a node, free space, or lower those volumes' replica count;"
                    + " `ballast node drain " + nodeId + "` without --evacuate moves only the leaderships");
        }
    }
}
