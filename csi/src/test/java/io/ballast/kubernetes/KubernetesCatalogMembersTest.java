package io.ballast.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The catalog member rule over API objects as the API server returns them (no server needed). */
class KubernetesCatalogMembersTest {

    private static Node node(String name, String created, boolean ready, String ip) {
        List<NodeAddress> addresses = ip == null ? List.of(new NodeAddress(name, "Hostname"))
                : List.of(new NodeAddress(name, "Hostname"), new NodeAddress(ip, "InternalIP"));
        return new NodeBuilder().withNewMetadata().withName(name).withCreationTimestamp(created).endMetadata()
                .withNewStatus().addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
                .withAddresses(addresses).endStatus().build();
    }

    private static Pod pod(String node, boolean deleting) {
        return new PodBuilder().withNewMetadata().withName("ballast-node-" + node)
                .withDeletionTimestamp(deleting ? "2026-12-03T08:00:00Z" : null).endMetadata()
                .withNewSpec().withNodeName(node).endSpec().build();
    }

    @Test
    void theOldestReadyNodesRunningThePluginWhenNoneIsLabelled() {
        List<Node> nodes = List.of(
                node("young", "2026-12-01T00:00:00Z", true, "10.0.0.9"),
                node("b", "2025-01-02T00:00:00Z", true, "10.0.0.2"),
                node("a", "2025-01-02T00:00:00Z", true, "10.0.0.1"),   // same age as b: by name
                node("old-down", "2024-01-01T00:00:00Z", false, "10.0.0.5"),
                node("no-plugin", "2024-01-01T00:00:00Z", true, "10.0.0.6"),
                node("leaving", "2024-06-01T00:00:00Z", true, "10.0.0.7"),
                node("c", "2025-03-01T00:00:00Z", true, "fd00::3"));
        List<Pod> pods = List.of(pod("young", false), pod("b", false), pod("a", false), pod("old-down", false),
                pod("leaving", true), pod("c", false));
        assertEquals(Map.of("a", "10.0.0.1:7101", "b", "10.0.0.2:7101", "c", "[fd00::3]:7101"),
                KubernetesCatalogMembers.choose(List.of(), nodes, pods, 3, 7101));
        assertEquals(List.of("a", "b", "c"),
                List.copyOf(KubernetesCatalogMembers.choose(List.of(), nodes, pods, 3, 7101).keySet()), "oldest first");
        // one lost: the next oldest takes its place
        assertEquals(List.of("b", "c", "young"), List.copyOf(KubernetesCatalogMembers.choose(List.of(),
                nodes.stream().filter(n -> !n.getMetadata().getName().equals("a")).toList(), pods, 3, 7101).keySet()));
    }

    @Test
    void everyReadyNodeRunningThePluginIsAdmissible() {
        List<Node> nodes = List.of(node("a", "2025-01-02T00:00:00Z", true, "10.0.0.1"),
                node("down", "2024-01-01T00:00:00Z", false, "10.0.0.5"), node("no-plugin", "2024-01-01T00:00:00Z", true, "10.0.0.6"),
                node("leaving", "2024-06-01T00:00:00Z", true, "10.0.0.7"), node("d", "2026-03-01T00:00:00Z", true, "10.0.0.8"),
                node("e", "2026-04-01T00:00:00Z", true, "10.0.0.9"));
        List<Pod> pods = List.of(pod("a", false), pod("down", false), pod("leaving", true), pod("d", false), pod("e", false),
                pod("elsewhere", false));
        assertEquals(java.util.Set.of("a", "d", "e"), KubernetesCatalogMembers.running(nodes, pods),
                "not the down node, nor one whose plugin pod is being deleted or that runs none: more than the 3 members");
    }

    @Test
    void labelledNodesWinWhateverTheirNumber() {
        List<Node> labelled = List.of(node("x", "2026-01-01T00:00:00Z", true, "10.0.1.1"),
                node("y", "2025-01-01T00:00:00Z", false, "10.0.1.2"), node("no-ip", "2025-01-01T00:00:00Z", true, null));
        assertEquals(List.of("y", "x"), List.copyOf(KubernetesCatalogMembers.choose(labelled, List.of(), List.of(), 3, 7101).keySet()));
    }
}
