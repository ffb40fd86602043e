package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Chooses the nodes of a volume's replicas: distinct, up, with room for the volume, inside the
 * CSI requisite topology; then the most preferred topology first, spread across zones (label
 * {@value #ZONE}), favoured nodes next (a clone's source replicas), most available space last.
 * Deterministic for the same input.
 *
 * <p>Space is thick-provisioned accounting: a replica needs its {@link ReplicaFootprint} (the
 * volume's size plus room for its Raft log and journal), and a node's available bytes are what
 * {@link ClusterView} leaves below its full ratio, so placement never overcommits a disk.
 */
public final class Placement {
    public static final String ZONE = "zone";
    /** The topology key naming the node itself. */
    public static final String NODE = "node";

    /** A node as placement sees it. */
    public record Candidate(String nodeId, Map<String, String> labels, boolean up, long availableBytes) {
        boolean matches(Map<String, String> segment) {
            for (var e : segment.entrySet()) {
                String have = NODE.equals(e.getKey()) ? nodeId : labels.get(e.getKey());
                if (!e.getValue().equals(have)) {
                    return false;
                }
            }
            return true;
        }
    }

    private Placement() {}

    /**
     * @param requisite segments of which a chosen node must match one (empty: any node)
     * @param preferred segments in order of preference
     * @param exclude nodes that must not be chosen (current replicas, when re-placing one)
     * @param favoured nodes to take first among equals (e.g. the replicas of a clone's source)
     * @throws BallastException NO_SPACE naming what is missing when fewer than {@code replicas} nodes qualify
     */
    public static List<String> choose(List<Candidate> nodes, int replicas, long sizeBytes,
            List<Map<String, String>> requisite, List<Map<String, String>> preferred,
            Set<String> exclude, Set<String> favoured) {
        List<Candidate> eligible = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (Candidate c : nodes) {
            if (exclude.contains(c.nodeId())) {
                continue;
            }
            if (!c.up()) {
                why.add(c.nodeId() + " is down");
            } else if (!requisite.isEmpty() && requisite.stream().noneMatch(c::matches)) {
                why.add(c.nodeId() + " is outside the requisite topology");
            } else if (c.availableBytes() < ReplicaFootprint.bytes(sizeBytes)) {
                why.add(c.nodeId() + " has " + c.availableBytes() + " bytes available");
            } else {
                eligible.add(c);
            }
        }
        if (eligible.size() < replicas) {
            throw new BallastException(ErrorCode.NO_SPACE, "need " + replicas + " distinct nodes with "
                    + ReplicaFootprint.bytes(sizeBytes) + " bytes available (the volume's " + sizeBytes
                    + " plus room for its Raft log)" + (requisite.isEmpty() ? "" : " in topology " + requisite)
                    + ", found " + eligible.size() + (why.isEmpty() ? "" : " (" + String.join("; ", why) + ")"));
        }
        Comparator<Candidate> order = Comparator
                .comparingInt((Candidate c) -> preferenceRank(c, preferred))
                .thenComparing(c -> !favoured.contains(c.nodeId()))
                .thenComparing(Comparator.comparingLong(Candidate::availableBytes).reversed())
                .thenComparing(Candidate::nodeId);
        eligible.sort(order);
        List<String> chosen = new ArrayList<>();
        Map<String, Integer> perZone = new HashMap<>();
        while (chosen.size() < replicas) {
            Candidate best = null;
            for (Candidate c : eligible) {
                if (chosen.contains(c.nodeId())) {
                    continue;
                }
                // Fewest replicas in its zone first; the sort order breaks ties.
                if (best == null || zoneCount(perZone, c) < zoneCount(perZone, best)) {
                    best = c;
                }
            }
            chosen.add(best.nodeId());
            perZone.merge(best.labels().getOrDefault(ZONE, ""), 1, Integer::sum);
        }
        return chosen;
    }

    private static int zoneCount(Map<String, Integer> perZone, Candidate c) {
        String zone = c.labels().get(ZONE);
        return zone == null ? 0 : perZone.getOrDefault(zone, 0);
    }

    private static int preferenceRank(Candidate c, List<Map<String, String>> preferred) {
        for (int i = 0; i < preferred.size(); i++) {
            if (c.matches(preferred.get(i))) {
                return i;
            }
        }
        return preferred.size();
    }
}
