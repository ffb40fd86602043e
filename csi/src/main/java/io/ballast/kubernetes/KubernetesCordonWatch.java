package io.ballast.kubernetes;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one Kubernetes Node's {@code spec.unschedulable} (what {@code kubectl cordon} sets) with
 * an informer: a list, then a watch that the client re-establishes by itself when the API server
 * goes away, plus a resync every {@link #RESYNC} that repeats the current state (so a consumer whose
 * last action failed gets another chance without a timer of its own).
 *
 * <p>Needs {@code get}, {@code list} and {@code watch} on {@code nodes} (deploy/kubernetes/rbac.yaml).
 */
public final class KubernetesCordonWatch {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesCordonWatch.class);
    static final Duration RESYNC = Duration.ofSeconds(30);

    private KubernetesCordonWatch() {
    }

    /** Starts watching node {@code name}; the handle stops it. Does not wait for the API server. */
    public static AutoCloseable start(KubernetesClient client, String name, Consumer<Boolean> cordoned) {
        SharedIndexInformer<Node> informer = client.nodes().withName(name).runnableInformer(RESYNC.toMillis());
        informer.addEventHandler(new ResourceEventHandler<Node>() {
            @Override
            public void onAdd(Node n) {
                cordoned.accept(unschedulable(n));
            }

            @Override
            public void onUpdate(Node old, Node n) {
                cordoned.accept(unschedulable(n));
            }

            @Override
            public void onDelete(Node n, boolean finalStateUnknown) {
                // The node object is gone (the node leaves the cluster): nothing to drain by cordon.
            }
        });
        informer.start().whenComplete((v, t) -> {
            if (t != null) {
                LOG.warn("cannot watch node {} for cordons at {}: {}", name, client.getMasterUrl(), t.toString());
            }
        });
        LOG.info("following Kubernetes cordons of node {}: a cordon drains it (leaderships move away, no new replicas)", name);
        return informer::close;
    }

    /** Whether the node is cordoned: {@code spec.unschedulable} true. */
    static boolean unschedulable(Node n) {
        return n.getSpec() != null && Boolean.TRUE.equals(n.getSpec().getUnschedulable());
    }
}
