package io.ballast.kubernetes;

import io.ballast.daemon.CatalogMemberSource;
import io.ballast.daemon.NodeCordonSource;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The catalog's members from Kubernetes facts, computed alike on every node:
 * <ol>
 *   <li>nodes labelled {@value #CATALOG_LABEL} (any value), when at least one is: the admin chose;</li>
 *   <li>else the {@code size} oldest Ready nodes (by creation time, then name) that run a Ballast
 *       node pod (label selector {@code podSelector} in {@code namespace}) which is not being deleted.</li>
 * </ol>
 * A member's id is its node name (the node plugin's --node-id) and its address the node's
 * InternalIP with the raft port every node plugin listens on.
 *
 * <p>Why the oldest nodes: the choice must be the same on every node and stable while the cluster
 * grows (a new node is never older than the members), and when a member is lost the next oldest
 * takes its place: the catalog heals without anyone editing a manifest.
 *
 * <p>Threading: thread-safe (the fabric8 client is).
 */
public final class KubernetesCatalogMembers implements CatalogMemberSource, NodeCordonSource {
    public static final String CATALOG_LABEL = "catalog.ballast.csi.io/member";

    private final KubernetesClient client;
    private final String namespace;
    private final String podSelector;
    private final int size;
    private final int raftPort;

    public KubernetesCatalogMembers(KubernetesClient client, String namespace, String podSelector, int size, int raftPort) {
        this.client = client;
        this.namespace = namespace;
        this.podSelector = podSelector;
        this.size = size;
        this.raftPort = raftPort;
    }

    @Override
    public Map<String, String> members() {
        try {
            List<Node> labelled = client.nodes().withLabel(CATALOG_LABEL).list().getItems();
            if (!labelled.isEmpty()) {
                return choose(labelled, List.of(), List.of(), size, raftPort);
            }
            return choose(List.of(), client.nodes().list().getItems(),
                    client.pods().inNamespace(namespace).withLabelSelector(podSelector).list().getItems(), size, raftPort);
        } catch (KubernetesClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot read nodes and pods from the Kubernetes API at "
                    + client.getMasterUrl() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Every Ready node running the node plugin (a pod of the DaemonSet not being deleted): the
     * API server admitted these nodes (their kubelets authenticated) and the DaemonSet runs Ballast
     * there, so the catalog admits them too.
     */
    @Override
    public java.util.Set<String> admissible() {
        try {
            return running(client.nodes().list().getItems(),
                    client.pods().inNamespace(namespace).withLabelSelector(podSelector).list().getItems());
        } catch (KubernetesClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot read nodes and pods from the Kubernetes API at "
                    + client.getMasterUrl() + ": " + e.getMessage(), e);
        }
    }

    /** The names of the Ready {@code nodes} running one of {@code pods} that is not being deleted. */
    static java.util.Set<String> running(List<Node> nodes, List<Pod> pods) {
        Map<String, Node> byName = new HashMap<>();
        nodes.forEach(n -> byName.put(n.getMetadata().getName(), n));
        return pods.stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                .map(Pod::getSpec).filter(s -> s != null && s.getNodeName() != null)
                .map(s -> byName.get(s.getNodeName())).filter(n -> n != null && ready(n))
                .map(n -> n.getMetadata().getName()).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
    }

    /**
     * The rule above as a function of the API's objects: every labelled node when any is; else,
     * among {@code nodes}, the {@code size} oldest Ready ones running one of {@code pods} that is not
     * being deleted. Node name -> InternalIP:raftPort; nodes without an InternalIP are skipped.
     */
    static Map<String, String> choose(List<Node> labelled, List<Node> nodes, List<Pod> pods, int size, int raftPort) {
        List<Node> chosen;
        if (!labelled.isEmpty()) {
            chosen = labelled.stream().sorted(OLDEST_FIRST).toList();
        } else {
            Map<String, Node> byName = new HashMap<>();
            nodes.forEach(n -> byName.put(n.getMetadata().getName(), n));
            chosen = pods.stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                    .map(Pod::getSpec).filter(s -> s != null && s.getNodeName() != null)
                    .map(s -> byName.get(s.getNodeName()))
                    .filter(n -> n != null && ready(n))
                    .distinct().sorted(OLDEST_FIRST).limit(size).toList();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Node n : chosen) {
            internalIp(n).ifPresent(ip -> out.put(n.getMetadata().getName(), hostPort(ip, raftPort)));
        }
        return out;
    }

    /** The topology labels of Kubernetes node {@code name} (its zone); see {@link KubernetesNodeLabels}. */
    public Map<String, String> labelsOf(String name) {
        return KubernetesNodeLabels.of(client, name);
    }

    /** Follows the cordon of Kubernetes node {@code nodeId}; see {@link KubernetesCordonWatch}. */
    @Override
    public AutoCloseable watchCordon(String nodeId, java.util.function.Consumer<Boolean> cordoned) {
        return KubernetesCordonWatch.start(client, nodeId, cordoned);
    }

    @Override
    public void close() {
        client.close();
    }

    @Override
    public String describe() {
        return "Kubernetes nodes labelled " + CATALOG_LABEL + ", else the " + size + " oldest Ready nodes running pods '"
                + podSelector + "' in namespace " + namespace;
    }

    private static String hostPort(String ip, int port) {
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port;
    }

    private static final Comparator<Node> OLDEST_FIRST = Comparator
            .comparing((Node n) -> String.valueOf(n.getMetadata().getCreationTimestamp())) // RFC 3339 UTC: sorts as time
            .thenComparing(n -> n.getMetadata().getName());

    static boolean ready(Node n) {
        if (n.getStatus() == null || n.getStatus().getConditions() == null) {
            return false;
        }
        for (NodeCondition c : n.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    static Optional<String> internalIp(Node n) {
        if (n.getStatus() == null || n.getStatus().getAddresses() == null) {
            return Optional.empty();
        }
        return n.getStatus().getAddresses().stream().filter(a -> "InternalIP".equals(a.getType()))
                .map(NodeAddress::getAddress).findFirst();
    }
}
