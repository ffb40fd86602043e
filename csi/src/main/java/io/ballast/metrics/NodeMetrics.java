package io.ballast.metrics;

import io.ballast.engine.nbd.NbdServer;
import io.ballast.replication.GroupStatus;
import io.ballast.replication.frontend.FrontendStats;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.volumes.ReplicatedVolumes;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.ToDoubleFunction;

/**
 * A storage node's metrics, read from its live state at each scrape (nothing is counted twice):
 * per replica (label {@code volume}) its Raft progress, role, rebuild copy and integrity; and the
 * NBD server's traffic and errors. A replica that vanishes mid-scrape is skipped.
 */
public final class NodeMetrics {
    private NodeMetrics() {}

    public static void register(PrometheusRegistry registry, ReplicatedVolumes volumes, NbdServer nbd) {
        replicaGauge(registry, volumes, "ballast_replica_commit_index", "Highest Raft log index known committed", GroupStatus::commitIndex);
        replicaGauge(registry, volumes, "ballast_replica_applied_index", "Highest Raft log index applied to this replica", GroupStatus::appliedIndex);
        replicaGauge(registry, volumes, "ballast_replica_is_leader", "1 when this node leads the volume's Raft group",
                s -> "LEADER".equals(s.role()) ? 1 : 0);
        replicaGauge(registry, volumes, "ballast_replica_rebuild_done_bytes", "Bytes copied by this replica's current or last rebuild",
                s -> s.rebuildBytesDone());
        replicaGauge(registry, volumes, "ballast_replica_rebuild_total_bytes", "Bytes to copy in this replica's current or last rebuild",
                s -> s.rebuildBytesTotal());
        replicaGauge(registry, volumes, "ballast_replica_unrepairable_blocks", "Blocks failing their checksum here with no healthy copy",
                s -> s.integrity().unrepairableBlocks());
        replicaGauge(registry, volumes, "ballast_replica_last_scrub_completed_timestamp_seconds",
                "When the last full scrub of this replica ended (Unix time; 0: never). Alert on time() minus this growing past "
                        + "the node's --scrub-interval", s -> s.integrity().lastScrubCompletedMillis() / 1000.0);
        GaugeWithCallback.builder().name("ballast_replica_snapshot_copies_missing")
                .help("Snapshots of the volume this replica holds no complete copy of: fetched from a peer after a rebuild "
                        + "(a while above 0); staying above 0 means no peer could give one (the node's log says why)")
                .labelNames("volume").callback(cb -> {
                    for (String name : new ArrayList<>(volumes.names())) {
                        long missing;
                        try {
                            missing = volumes.raft().stateMachine(name).snapshots.missingCount(name);
                        } catch (RuntimeException e) {
                            continue; // removed while we looked
                        }
                        cb.call(missing, name);
                    }
                }).register(registry);
        CounterWithCallback.builder().name("ballast_replica_corrupt_blocks_found_total")
                .help("Blocks found failing their checksum by a read or scrub (since the node started)").labelNames("volume")
                .callback(cb -> each(volumes, (name, s) -> cb.call(s.integrity().corruptBlocksFound(), name))).register(registry);
        CounterWithCallback.builder().name("ballast_replica_blocks_repaired_total")
                .help("Blocks rewritten from a healthy replica's copy (since the node started)").labelNames("volume")
                .callback(cb -> each(volumes, (name, s) -> cb.call(s.integrity().blocksRepaired(), name))).register(registry);
        CounterWithCallback.builder().name("ballast_replica_shared_bytes_total")
                .help("Bytes of large writes this replica's store took from its entry journal by reference, written to disk "
                        + "once (since the replica opened; stays 0 on a filesystem that cannot share extents, such as ext4)")
                .labelNames("volume").callback(cb -> each(volumes, (name, s) -> cb.call(s.sharedBytes(), name))).register(registry);
        GaugeWithCallback.builder().name("ballast_volume_attached").help("1 for each volume whose frontend is on this node")
                .labelNames("volume").callback(cb -> {
                    for (String name : volumes.attachedNames()) {
                        cb.call(1, name);
                    }
                }).register(registry);
        frontendCounter(registry, volumes, "ballast_volume_reads_total", "Reads served by this node's frontend of the volume",
                f -> f.reads());
        frontendCounter(registry, volumes, "ballast_volume_read_bytes_total", "Bytes read through this node's frontend",
                f -> f.readBytes());
        frontendCounter(registry, volumes, "ballast_volume_read_seconds_total",
                "Sum of read latencies (mean latency = rate of this / rate of reads)", FrontendStats::readSeconds);
        frontendCounter(registry, volumes, "ballast_volume_writes_total", "Writes acknowledged or failed by this node's frontend",
                f -> f.writes());
        frontendCounter(registry, volumes, "ballast_volume_written_bytes_total", "Bytes written through this node's frontend",
                f -> f.writeBytes());
        frontendCounter(registry, volumes, "ballast_volume_write_seconds_total",
                "Sum of write latencies (commit on a majority; mean = rate of this / rate of writes)", FrontendStats::writeSeconds);
        frontendCounter(registry, volumes, "ballast_volume_errors_total", "Reads and writes answered with an error",
                f -> f.errors());
        var disk = volumes.raft().space().local();
        GaugeWithCallback.builder().name("ballast_node_disk_used_ratio")
                .help("Fraction of the fullest data filesystem in use (raft/ or volumes/); writes are refused above the full ratio")
                .callback(cb -> cb.call(disk.reading().usedRatio())).register(registry);
        GaugeWithCallback.builder().name("ballast_node_disk_full_ratio").help("The node's --full-ratio")
                .callback(cb -> cb.call(disk.watermarks().full())).register(registry);
        GaugeWithCallback.builder().name("ballast_node_disk_full").help("1 while the data disk is above its full ratio")
                .callback(cb -> cb.call(disk.reading().level() == io.ballast.replication.space.DiskLevel.FULL ? 1 : 0))
                .register(registry);
        CounterWithCallback.builder().name("ballast_nbd_requests_total").help("NBD requests served")
                .callback(cb -> cb.call(nbd.stats().requests())).register(registry);
        CounterWithCallback.builder().name("ballast_nbd_read_bytes_total").help("Bytes read by NBD clients")
                .callback(cb -> cb.call(nbd.stats().bytesRead())).register(registry);
        CounterWithCallback.builder().name("ballast_nbd_written_bytes_total").help("Bytes written by NBD clients")
                .callback(cb -> cb.call(nbd.stats().bytesWritten())).register(registry);
        CounterWithCallback.builder().name("ballast_nbd_errors_total").help("NBD requests answered with an error, by errno")
                .labelNames("errno").callback(cb -> nbd.stats().errorsByErrno().forEach((errno, n) -> cb.call(n, String.valueOf(errno))))
                .register(registry);
    }

    private static void frontendCounter(PrometheusRegistry registry, ReplicatedVolumes volumes, String name, String help,
            ToDoubleFunction<FrontendStats> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("volume").callback(cb -> {
            for (String volume : volumes.attachedNames()) { // diskless frontends included
                ReplicatedBlockVolume v = volumes.attachedVolume(volume);
                if (v != null) {
                    cb.call(value.applyAsDouble(v.stats()), volume);
                }
            }
        }).register(registry);
    }

    private static void replicaGauge(PrometheusRegistry registry, ReplicatedVolumes volumes, String name, String help,
            ToDoubleFunction<GroupStatus> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("volume")
                .callback(cb -> each(volumes, (volume, s) -> cb.call(value.applyAsDouble(s), volume))).register(registry);
    }

    private static void each(ReplicatedVolumes volumes, BiConsumer<String, GroupStatus> f) {
        List<String> names = new ArrayList<>(volumes.names());
        for (String name : names) {
            GroupStatus s;
            try {
                s = volumes.status(name);
            } catch (RuntimeException e) {
                continue; // removed while we looked
            }
            f.accept(name, s);
        }
    }
}
