package io.ballast.csi;

import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.Topology;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one translation between CSI topology segments and the catalog's node labels.
 *
 * <p>On the wire every Ballast topology key carries the prefix {@value #PREFIX}; the catalog stores
 * labels without it ({@code zone=a}), and the key {@value #NODE} stands for the node id, which every
 * node has whatever its labels. So a node with labels {@code zone=a} and id {@code n1} has the segment
 * {@code {topology.ballast.csi.io/node: n1, topology.ballast.csi.io/zone: a}}; the Node service must
 * report exactly {@link #segmentOf} in NodeGetInfo, because the CO matches these segments literally.
 * Kubernetes also expects every node of a driver to report the same keys, so label all storage nodes
 * with the same label keys (values may differ).
 *
 * <p>Every node also reports {@code topology.ballast.csi.io/cluster: <cluster id>}, and a volume's
 * accessible topology is that one segment: any node of the cluster can attach any volume (a node
 * without a replica attaches as a diskless frontend through the volume's leader), so the CO may
 * schedule a pod anywhere, and the PV's node affinity never goes stale when the repair loop moves a
 * replica. For the same reason a requisite segment that names a node constrains nothing
 * ({@link #replicaConstraint}): the CO fills requisite with the whole segment (node, zone, cluster)
 * of every node it knows, which says where the volume must be reachable, not where its data must
 * be; a segment without a node key comes from an admin's allowedTopologies (zone, own labels) and
 * does say where data may live.
 *
 * <p>Decision: a key without our prefix in a request is INVALID_ARGUMENT, not ignored. The CO only
 * builds requirements from the segments our nodes report, so a foreign key (say
 * {@code topology.kubernetes.io/zone}) means a StorageClass {@code allowedTopologies} written for
 * another driver; ignoring it would place the volume where the user said it must not go.
 *
 * <p>Stateless, thread-safe.
 */
public final class Topologies {
    public static final String PREFIX = "topology.ballast.csi.io/";
    /** The label key (without prefix) that means the node id. */
    public static final String NODE = "node";
    /** The label key (without prefix) every node of a cluster carries with the cluster id. */
    public static final String CLUSTER = "cluster";

    private Topologies() {
    }

    /** A request's segment as catalog labels (prefix stripped). INVALID_ARGUMENT on a foreign or empty key. */
    public static Map<String, String> toLabels(Topology topology, String field) {
        Map<String, String> labels = new TreeMap<>();
        topology.getSegmentsMap().forEach((key, value) -> {
            if (!key.startsWith(PREFIX) || key.length() == PREFIX.length()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, field + ": topology key '" + key
                        + "' is not a Ballast key; expected " + PREFIX + "<label>, e.g. " + PREFIX + NODE);
            }
            if (value.isEmpty()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, field + ": topology key '" + key + "' has an empty value");
            }
            labels.put(key.substring(PREFIX.length()), value);
        });
        return labels;
    }

    /** The node's segment: its labels and its id under {@value #NODE}, all with the prefix. */
    public static Topology segmentOf(NodeRecord node) {
        Topology.Builder b = Topology.newBuilder();
        node.labels().forEach((k, v) -> b.putSegments(PREFIX + k, v));
        // the id wins over a label that happens to be called "node": the id is what placement uses
        return b.putSegments(PREFIX + NODE, node.nodeId()).build();
    }

    /** The segment of a node as it reports itself in NodeGetInfo: {@link #segmentOf(NodeRecord)} plus its cluster. */
    public static Topology segmentOf(NodeRecord node, String clusterId) {
        return segmentOf(node).toBuilder().putSegments(PREFIX + CLUSTER, clusterId).build();
    }

    /** A volume's accessible topology: every node of the cluster. */
    public static Topology clusterSegment(String clusterId) {
        return Topology.newBuilder().putSegments(PREFIX + CLUSTER, clusterId).build();
    }

    /**
     * What requisite segments (as labels) demand of the nodes holding replicas. A segment naming a
     * node ({@value #NODE}) is a node's own segment, which the CO lists for every node it knows: it
     * admits every node, and so does the whole requirement then (empty list). Other segments
     * (allowedTopologies) demand their labels but {@value #CLUSTER}; one left empty admits all.
     */
    public static List<Map<String, String>> replicaConstraint(List<Map<String, String>> requisite) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, String> segment : requisite) {
            Map<String, String> rest = new TreeMap<>(segment);
            rest.remove(CLUSTER);
            if (rest.isEmpty() || rest.containsKey(NODE)) {
                return List.of();
            }
            out.add(rest);
        }
        return out;
    }

    /** True when the node carries every label of {@code labels} ({@value #NODE} compared with its id). */
    public static boolean matches(NodeRecord node, Map<String, String> labels) {
        for (Map.Entry<String, String> e : labels.entrySet()) {
            if (CLUSTER.equals(e.getKey())) {
                continue; // every node in the catalog belongs to this cluster
            }
            String actual = NODE.equals(e.getKey()) ? node.nodeId() : node.labels().get(e.getKey());
            if (!e.getValue().equals(actual)) {
                return false;
            }
        }
        return true;
    }
}
