package io.ballast.cli;

import io.ballast.proto.v1.CatalogAttachment;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.ClusterStatus;
import io.ballast.proto.v1.GetClusterStateResponse;
import io.ballast.proto.v1.RebuildProgress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The cluster at a glance, computed from the catalog ({@link #of}) and printed as a table for a
 * person ({@link #printTable}); {@code --output json} prints the same {@link ClusterStatus} message
 * as JSON. A node is down when its last heartbeat is older than {@code downAfter}; a volume is
 * healthy when every replica is placed, on an up node, not reported degraded and not rebuilding.
 */
final class ClusterStatusView {
    private ClusterStatusView() {
    }

    static ClusterStatus of(GetClusterStateResponse r, Duration downAfter) {
        long now = r.getNowMillis();
        ClusterStatus.Builder b = ClusterStatus.newBuilder().setAnsweredBy(r.getNodeId());
        Map<String, Boolean> up = new HashMap<>();
        // Leadership as the nodes' last heartbeats (every 2 s) report it; when two up nodes both claim
        // a group (one has just handed it over), the fresher heartbeat wins.
        Map<String, String> leaderOf = new HashMap<>();
        Map<String, Long> claimedAt = new HashMap<>();
        for (CatalogNode n : r.getState().getNodesList()) {
            long silent = Math.max(0, (now - n.getHeartbeatMillis()) / 1000);
            boolean isUp = now - n.getHeartbeatMillis() < downAfter.toMillis();
            up.put(n.getNodeId(), isUp);
            if (isUp) {
                for (String v : n.getLeadingList()) {
                    if (claimedAt.getOrDefault(v, Long.MIN_VALUE) < n.getHeartbeatMillis()) {
                        claimedAt.put(v, n.getHeartbeatMillis());
                        leaderOf.put(v, n.getNodeId());
                    }
                }
            }
            b.addNodes(ClusterStatus.Node.newBuilder().setNodeId(n.getNodeId()).setUp(isUp).setSilentSeconds(silent)
                    .setAdminAddress(n.getAdminAddress()).setZone(n.getLabelsOrDefault("zone", ""))
                    .setCapacityBytes(n.getCapacityBytes()).setFreeBytes(n.getFreeBytes()).setReplicas(n.getReplicasCount())
                    .setDiskFull(n.getDiskFull()).setDiskWarning(n.getDiskWarning()).setDrain(n.getDrain())
                    .setDrainFromCordon(n.getDrainFromCordon()));
        }
        for (CatalogVolume v : r.getState().getVolumesList()) {
            ClusterStatus.Volume.Builder vb = ClusterStatus.Volume.newBuilder().setId(v.getId()).setName(v.getName())
                    .setSizeBytes(v.getSizeBytes()).setReplicas(v.getReplicas()).addAllPlacement(v.getPlacementList())
                    .setLeader(leaderOf.getOrDefault(v.getId(), ""));
            for (CatalogAttachment a : v.getAttachmentsList()) {
                vb.addAttached(a.getNodeId());
            }
            List<String> problems = new ArrayList<>();
            if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
                problems.add(v.getState().name().replace("CATALOG_VOLUME_", "").toLowerCase());
            }
            if (v.getPlacementCount() < v.getReplicas()) {
                problems.add(v.getPlacementCount() + " of " + v.getReplicas() + " replicas placed");
            }
            for (String node : v.getPlacementList()) {
                if (!up.getOrDefault(node, false)) {
                    problems.add(node + " down");
                }
            }
            for (CatalogNode n : r.getState().getNodesList()) {
                String bad = n.getDegradedReplicasOrDefault(v.getId(), null);
                if (bad != null) {
                    problems.add(n.getNodeId() + " " + bad);
                }
                RebuildProgress p = n.getRebuildsOrDefault(v.getId(), null);
                if (p != null) {
                    problems.add("rebuilding on " + n.getNodeId());
                    vb.addRebuilds(ClusterStatus.Rebuild.newBuilder().setNodeId(n.getNodeId())
                            .setBytesDone(p.getBytesDone()).setBytesTotal(p.getBytesTotal()));
                }
            }
            if (!v.getRepair().isEmpty()) {
                problems.add("repair: " + v.getRepair());
            }
            if (leaderOf.get(v.getId()) == null && v.getState() == CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
                problems.add("no leader reported");
            }
            vb.setCondition(problems.isEmpty() ? "healthy" : "degraded: " + String.join(", ", problems));
            b.addVolumes(vb);
        }
        return b.build();
    }

    static void printTable(ClusterStatus s, PrintWriter out, boolean terminal) {
        long nodesUp = s.getNodesList().stream().filter(ClusterStatus.Node::getUp).count();
        long healthy = s.getVolumesList().stream().filter(v -> v.getCondition().equals("healthy")).count();
        out.printf("cluster: %d node%s (%d up), %d volume%s (%d healthy); answered by %s%n%n", s.getNodesCount(),
                s.getNodesCount() == 1 ? "" : "s", nodesUp, s.getVolumesCount(), s.getVolumesCount() == 1 ? "" : "s", healthy,
                s.getAnsweredBy());
        List<String[]> nodes = new ArrayList<>();
        nodes.add(new String[] {"NODE", "STATE", "ZONE", "FREE", "CAPACITY", "REPLICAS", "ADMIN"});
        for (ClusterStatus.Node n : s.getNodesList()) {
            String state = n.getUp() ? "up" : "down (silent " + n.getSilentSeconds() + " s)";
            switch (n.getDrain()) {
                case NODE_DRAIN_LEADERS -> state += n.getDrainFromCordon() ? ", drained (Kubernetes cordon)" : ", drained";
                case NODE_DRAIN_EVACUATE -> state += ", evacuating";
                default -> { }
            }
            if (!n.getDiskWarning().isEmpty()) {
                state += (n.getDiskFull() ? ", disk full: " : ", disk nearly full: ") + n.getDiskWarning();
            }
            nodes.add(new String[] {n.getNodeId(), state,
                n.getZone().isEmpty() ? "-" : n.getZone(), ByteSize.human(n.getFreeBytes()), ByteSize.human(n.getCapacityBytes()),
                Integer.toString(n.getReplicas()), n.getAdminAddress()});
        }
        printColumns(out, nodes);
        out.println();
        List<String[]> volumes = new ArrayList<>();
        volumes.add(new String[] {"VOLUME", "ID", "SIZE", "REPLICAS", "LEADER", "ATTACHED", "CONDITION"});
        for (ClusterStatus.Volume v : s.getVolumesList()) {
            volumes.add(new String[] {v.getName(), v.getId(), ByteSize.human(v.getSizeBytes()),
                v.getReplicas() + " (" + String.join(" ", v.getPlacementList()) + ")",
                v.getLeader().isEmpty() ? "-" : v.getLeader(), v.getAttachedCount() == 0 ? "-" : String.join(" ", v.getAttachedList()),
                v.getCondition()});
        }
        if (s.getVolumesCount() == 0) {
            out.println("no volumes");
        } else {
            printColumns(out, volumes);
        }
        List<String> rebuilds = new ArrayList<>();
        for (ClusterStatus.Volume v : s.getVolumesList()) {
            for (ClusterStatus.Rebuild r : v.getRebuildsList()) {
                rebuilds.add(String.format("%s on %s  %s", v.getName(), r.getNodeId(),
                        progress(r.getBytesDone(), r.getBytesTotal(), terminal)));
            }
        }
        if (!rebuilds.isEmpty()) {
            out.println();
            out.println("REBUILDS");
            rebuilds.forEach(out::println);
        }
        out.flush();
    }

    /** {@code [#####.....]  50%  512 MiB / 1 GiB} on a terminal; without the bar in scripts. */
    static String progress(long done, long total, boolean bar) {
        int pct = total <= 0 ? 0 : (int) Math.min(100, done * 100 / total);
        String figures = String.format("%3d%%  %s / %s", pct, ByteSize.human(done), ByteSize.human(total));
        if (!bar) {
            return figures;
        }
        int filled = pct / 5;
        return "[" + "#".repeat(filled) + ".".repeat(20 - filled) + "]  " + figures;
    }

    private static void printColumns(PrintWriter out, List<String[]> rows) {
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == r.length - 1 ? r[i] : String.format("%-" + (width[i] + 2) + "s", r[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
