package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegionGenerationsTest {
    private static final long R = 1L << RegionGenerations.MIN_SHIFT;

    @TempDir
    Path tmp;

    private static BitSet bits(int... set) {
        BitSet b = new BitSet();
        for (int i : set) {
            b.set(i);
        }
        return b;
    }

    @Test
    void aWriteRaisesEveryRegionItTouchesAndOnlyThose() {
        RegionGenerations g = RegionGenerations.uniform(8 * R, 5);
        g.written(R - 1, 2, 9); // straddles regions 0 and 1
        g.written(6 * R, R, 12);
        g.written(3 * R, 0, 99); // empty: nothing
        assertEquals(bits(0, 1, 6), g.changedSince(5).regions());
        assertEquals(bits(6), g.changedSince(9).regions());
        assertEquals(bits(), g.changedSince(12).regions());
        assertEquals(2 * R + R, g.changedSince(5).bytes(8 * R));
        g.written(6 * R, R, 7); // an older index never lowers a generation
        assertEquals(12, g.generation(6));
    }

    @Test
    void savedAndLoadedBackExactlyAndAMissingOrDamagedFileFallsBackToTheCheckpointIndex() throws Exception {
        RegionGenerations g = RegionGenerations.uniform(4 * R, 3);
        g.written(2 * R, 10, 8);
        Path f = tmp.resolve("regions");
        g.save(f);
        RegionGenerations back = RegionGenerations.load(f, 4 * R, 100);
        assertEquals(List.of(3L, 3L, 8L, 3L), gens(back));

        RegionGenerations none = RegionGenerations.load(tmp.resolve("absent"), 4 * R, 42);
        assertEquals(List.of(42L, 42L, 42L, 42L), gens(none));

        byte[] b = Files.readAllBytes(f);
        b[20] ^= 1;
        Files.write(f, b);
        assertEquals(List.of(100L, 100L, 100L, 100L), gens(RegionGenerations.load(f, 4 * R, 100)));
    }

    @Test
    void growingAddsRegionsAtTheGrowingIndexAndCoarsensPastTheLimit() {
        RegionGenerations g = RegionGenerations.uniform(3 * R + 4096, 2); // 4 regions, the last partly used
        g.written(0, 1, 6);
        g.grown(6 * R, 10);
        // The old last region took new bytes too, so it changed at 10 like the new ones.
        assertEquals(List.of(6L, 2L, 2L, 10L, 10L, 10L), gens(g));

        long big = (long) RegionGenerations.MAX_REGIONS * R;
        RegionGenerations c = RegionGenerations.uniform(big, 1);
        c.written(3 * R, 1, 50);
        c.grown(big + R, 60); // one region more than the limit: regions double in size
        assertEquals(2 * R, c.regionSize());
        assertEquals(50, c.generation(1)); // regions 2 and 3 merged, the higher generation kept
        assertEquals(1, c.generation(0));
        assertEquals(60, c.generation(c.regionCount() - 1));
    }

    @Test
    void changedRegionsCrossTheWireAndBecomeCopyRanges() {
        RegionGenerations g = RegionGenerations.uniform(10 * R - 4096, 0);
        g.written(2 * R, 2 * R, 5); // regions 2, 3
        g.written(9 * R, 10, 5); // region 9, the volume's short last one
        var changed = RegionGenerations.Changed.decode(g.changedSince(0).encode());
        List<long[]> ranges = BlockCopier.ranges(changed, 10 * R - 4096);
        assertEquals(2, ranges.size());
        assertEquals(List.of(2 * R, 4 * R), List.of(ranges.get(0)[0], ranges.get(0)[1]));
        assertEquals(List.of(9 * R, 10 * R - 4096), List.of(ranges.get(1)[0], ranges.get(1)[1]));
    }

    private static List<Long> gens(RegionGenerations g) {
        return java.util.stream.IntStream.range(0, g.regionCount()).mapToObj(i -> g.generation(i)).toList();
    }
}
