package io.ballast.metrics;

import io.ballast.cluster.ClusterBackend;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The controller's metrics: the cluster as the catalog records it (nodes up/down, volumes
 * healthy/abnormal, snapshots), read at each scrape, and the repair loop's outcomes. When the
 * catalog cannot be read the cluster gauges are left out of that scrape (Prometheus shows the gap).
 */
public final class ControllerMetrics {
    private ControllerMetrics() {}

    /**
     * @param repaired replicas re-placed by the repair loop
     * @param repairsFailed repair attempts that failed (retried on the next pass)
     */
    public static void register(PrometheusRegistry registry, Supplier<ClusterBackend> backend, AtomicLong repaired,
            AtomicLong repairsFailed) {
        GaugeWithCallback.builder().name("ballast_nodes").help("Storage nodes registered in the catalog, by state")
                .labelNames("state").callback(cb -> {
                    try {
                        var nodes = backend.get().nodes();
                        long up = nodes.stream().filter(ClusterBackend.NodeRecord::up).count();
                        cb.call(up, "up");
                        cb.call(nodes.size() - up, "down");
                    } catch (RuntimeException e) {
                        // no catalog quorum: no sample this scrape
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("ballast_volumes").help("Volumes in the catalog, by CSI volume condition")
                .labelNames("condition").callback(cb -> {
                    try {
                        var volumes = backend.get().volumes();
                        long abnormal = volumes.stream().filter(ClusterBackend.VolumeRecord::abnormal).count();
                        cb.call(volumes.size() - abnormal, "healthy");
                        cb.call(abnormal, "abnormal");
                    } catch (RuntimeException e) {
                        // no catalog quorum: no sample this scrape
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("ballast_snapshots").help("Snapshots in the catalog").callback(cb -> {
            try {
                cb.call(backend.get().snapshots().size());
            } catch (RuntimeException e) {
                // no catalog quorum: no sample this scrape
            }
        }).register(registry);
        CounterWithCallback.builder().name("ballast_repairs_total")
                .help("Replicas of lost nodes re-placed and rebuilt by the repair loop, by outcome").labelNames("outcome")
                .callback(cb -> {
                    cb.call(repaired.get(), "done");
                    cb.call(repairsFailed.get(), "failed");
                }).register(registry);
    }
}
