package io.ballast.kubernetes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node's topology labels from its Kubernetes Node object: {@code zone} from the standard
 * {@value #ZONE_LABEL}, so placement spreads replicas across the zones Kubernetes already knows.
 */
public final class KubernetesNodeLabels {
    public static final String ZONE_LABEL = "topology.kubernetes.io/zone";

    private KubernetesNodeLabels() {
    }

    /** The Ballast labels of node {@code name} (empty when it has no zone). UNAVAILABLE when unreadable. */
    public static Map<String, String> of(KubernetesClient client, String name) {
        try {
            Node n = client.nodes().withName(name).get();
            if (n == null) {
                throw new BallastException(ErrorCode.NOT_FOUND, "Kubernetes has no node named " + name
                        + " (--node-id must be the Kubernetes node name, e.g. from the downward API's spec.nodeName)");
            }
            Map<String, String> out = new LinkedHashMap<>();
            Map<String, String> labels = n.getMetadata().getLabels();
            if (labels != null && labels.get(ZONE_LABEL) != null && !labels.get(ZONE_LABEL).isEmpty()) {
                out.put("zone", labels.get(ZONE_LABEL));
            }
            return out;
        } catch (KubernetesClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot read node " + name + " from the Kubernetes API at "
                    + client.getMasterUrl() + ": " + e.getMessage(), e);
        }
    }
}
