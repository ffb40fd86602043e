package io.ballast.cluster;

import io.ballast.cluster.Placement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.cluster.Placement.Candidate;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementTest {
    private static final long G = 1L << 30;

    private static Candidate node(String id, String zone, long free) {
        return new Candidate(id, zone == null ? Map.of() : Map.of("zone", zone), true, free);
    }

    @Test
    void spreadsAcrossZonesBeforeFillingOne() {
        List<Candidate> nodes = List.of(node("a1", "a", 9 * G), node("a2", "a", 8 * G), node("b1", "b", 2 * G),
                node("c1", "c", 3 * G));
        List<String> chosen = Placement.choose(nodes, 3, G, List.of(), List.of(), Set.of(), Set.of());
        assertEquals(Set.of("a1", "b1", "c1"), new HashSet<>(chosen));
        assertEquals("a1", chosen.get(0)); // most space first
    }

    @Test
    void aReplicaNeedsRoomForItsRaftLogToo() {
        List<Candidate> nodes = List.of(node("a1", "a", G + (256L << 20) - 1), node("b1", "b", G + (256L << 20)));
        assertEquals(List.of("b1"), Placement.choose(nodes, 1, G, List.of(), List.of(), Set.of(), Set.of()));
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.ballast.engine.error.BallastException.class,
                () -> Placement.choose(nodes, 2, G, List.of(), List.of(), Set.of(), Set.of()));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("plus room for its Raft log"), e.getMessage());
        // the reserve: a tenth of the volume, at least 256 MiB (the replica's log budget)
        assertEquals((1L << 20) + (256L << 20), ReplicaFootprint.bytes(1L << 20));
        assertEquals(110 * G, ReplicaFootprint.bytes(100 * G));
        assertEquals(9309L << 20, ReplicaFootprint.largestFitting(10 * G, 1L << 20)); // 9309 + 930.9 MiB <= 10 GiB
        assertEquals(0, ReplicaFootprint.largestFitting(256L << 20, 1L << 20));
        assertEquals(1L << 20, ReplicaFootprint.largestFitting((1L << 20) + (256L << 20), 1L << 20));
    }

    @Test
    void honoursRequisiteAndPreferredTopologyAndFavouredNodes() {
        List<Candidate> nodes = List.of(node("a1", "a", 9 * G), node("b1", "b", 5 * G), node("b2", "b", 4 * G),
                node("c1", "c", 9 * G));
        List<String> chosen = Placement.choose(nodes, 1, G, List.of(Map.of("zone", "b"), Map.of("zone", "c")),
                List.of(Map.of("node", "b2")), Set.of(), Set.of());
        assertEquals(List.of("b2"), chosen);
        assertEquals(List.of("b1"), Placement.choose(nodes, 1, G, List.of(Map.of("zone", "b")), List.of(), Set.of(), Set.of()));
        assertEquals(List.of("b2"), Placement.choose(nodes, 1, G, List.of(Map.of("zone", "b")), List.of(), Set.of(), Set.of("b2")));
    }

    @Test
    void tooFewNodesSaysWhatIsMissing() {
        List<Candidate> nodes = List.of(node("n1", null, 9 * G), new Candidate("n2", Map.of(), false, 9 * G),
                node("n3", null, G / 2), node("n4", null, 9 * G));
        BallastException e = assertThrows(BallastException.class,
                () -> Placement.choose(nodes, 3, G, List.of(), List.of(), Set.of("n4"), Set.of()));
        assertEquals(ErrorCode.NO_SPACE, e.code());
        assertTrue(e.getMessage().contains("n2 is down") && e.getMessage().contains("n3 has"), e.getMessage());
        assertEquals(List.of("n1", "n4"), Placement.choose(nodes, 2, G, List.of(), List.of(), Set.of(), Set.of()));
    }
}
