package io.ballast.engine.attach;

import io.ballast.engine.fuse.FuseExportConfig;
import io.ballast.engine.fuse.HostCleanup;
import io.ballast.engine.fuse.HostRequirements;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.engine.volume.LocalBlockVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, not a test (its name keeps it out of normal runs): fio with libaio and O_DIRECT on
 * (A) a preallocated file on the same disk and (C) the loop device over the FUSE export of a
 * {@link LocalBlockVolume} (8 I/O threads, as {@code ballast node}), in one run, per variant of
 * the FUSE+loop settings. Prints a Markdown table and writes it to target/fuse-bench.md.
 *
 * <pre>
 * ./mvnw -q -B -o test -pl engine -am -Dtest=FuseLoopBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dballast.bench.runtime=10 -Dballast.bench.size=1G -Dballast.bench.variants=cached-dio,direct,cached-buffered
 * </pre>
 * Variants: {@code cached-dio} (the default attach: FUSE file cacheable, loop device with
 * LO_FLAGS_DIRECT_IO), {@code direct} (FOPEN_DIRECT_IO on the FUSE file, loop direct I/O),
 * {@code cached-buffered} (FUSE file cacheable, loop without direct I/O). A variant named twice runs
 * twice, to show the run-to-run spread.
 */
class FuseLoopBenchmark {
    private static final String[][] WORKLOADS = {
        {"seqwrite-1m-qd8", "--rw=write", "--bs=1m", "--iodepth=8"},
        {"randwrite-4k-qd32", "--rw=randwrite", "--bs=4k", "--iodepth=32"},
        {"randread-4k-qd32", "--rw=randread", "--bs=4k", "--iodepth=32"},
        {"write-4k-qd1-fsync", "--rw=randwrite", "--bs=4k", "--iodepth=1", "--fsync=1"},
    };

    record Result(double iops, double mibPerSec, double p50us, double p99us) {
        String show(boolean seq) {
            return seq ? String.format(Locale.ROOT, "%.0f MiB/s", mibPerSec)
                    : p50us > 0 ? String.format(Locale.ROOT, "%.0f IOPS, p50 %.0f µs, p99 %.0f µs", iops, p50us, p99us)
                    : String.format(Locale.ROOT, "%.1fk IOPS", iops / 1000);
        }
    }

    @Test
    void compare() throws Exception {
        HostRequirements.requireRootAndFuse();
        HostRequirements.requireLoop();
        HostRequirements.requireTool("fio", "fio");
        Path dir = Path.of(System.getProperty("ballast.bench.dir", "target/fuse-bench")).toAbsolutePath();
        String size = System.getProperty("ballast.bench.size", "1G");
        long bytes = Long.parseLong(size.replaceAll("[GgMm]$", "")) << (size.toUpperCase(Locale.ROOT).endsWith("G") ? 30 : 20);
        int runtime = Integer.getInteger("ballast.bench.runtime", 10);
        List<String> variants = List.of(System.getProperty("ballast.bench.variants", "cached-dio").split(","));
        HostCleanup.unmountUnder(dir); // leftovers of an interrupted run
        Sh.run(60, "rm", "-rf", dir.toString());
        Files.createDirectories(dir);
        Map<String, Map<String, Result>> results = new LinkedHashMap<>();
        Path file = dir.resolve("a.img");
        Sh.run(60, "fallocate", "-l", Long.toString(bytes), file.toString());
        results.put("A: fio on file", runAll(file.toString(), bytes, runtime));
        Files.delete(file);
        String dioNote = "";
        for (String variant : variants) {
            Path vdir = dir.resolve(variant + "-" + results.size());
            ExecutorService io = Executors.newFixedThreadPool(8);
            try (NodeDirectory node = NodeDirectory.openOrFormat(vdir.resolve("node"), "bench", "n1")) {
                LocalBlockVolume volume = new LocalBlockVolume("bench", node.createVolume("bench", bytes), io);
                FuseExportConfig config = FuseExportConfig.defaults().withDirectIo(variant.equals("direct"));
                AttachedDevice device = new FuseLoopAttacher(vdir.resolve("run"), config,
                        !variant.equals("cached-buffered")).attach(volume);
                try {
                    dioNote += variant + ": loop direct I/O " + (device.directIo() ? "on" : "off") + "; ";
                    String key = "C: " + variant;
                    for (int n = 2; results.containsKey(key); n++) {
                        key = "C: " + variant + " #" + n; // the same variant again: shows the run-to-run spread
                    }
                    results.put(key, runAll(device.device().toString(), bytes, runtime));
                    dioNote += "export " + ((FuseLoopAttacher.FuseLoopDevice) device).export().stats() + "\n";
                } finally {
                    device.close();
                    volume.close();
                }
            } finally {
                io.shutdownNow();
                HostCleanup.unmountUnder(vdir);
            }
        }
        String table = table(results);
        System.out.println(table + "\n" + dioNote);
        Files.writeString(Path.of("target/fuse-bench.md"), table + "\n" + dioNote);
    }

    private static Map<String, Result> runAll(String target, long bytes, int runtime) throws Exception {
        Map<String, Result> out = new LinkedHashMap<>();
        for (String[] w : WORKLOADS) {
            List<String> cmd = new ArrayList<>(List.of("fio", "--name=" + w[0], "--filename=" + target,
                    "--ioengine=libaio", "--direct=1", "--size=" + bytes, "--runtime=" + runtime, "--time_based",
                    "--ramp_time=2", "--randrepeat=0", "--norandommap", "--group_reporting",
                    "--output-format=terse", "--terse-version=3"));
            cmd.addAll(List.of(w).subList(1, w.length));
            String terse = Sh.run(runtime + 120, cmd.toArray(String[]::new)).lines()
                    .filter(l -> l.startsWith("3;")).findFirst().orElseThrow();
            out.put(w[0], parse(terse.split(";"), w[1].contains("read"), w[0].contains("fsync")));
        }
        return out;
    }

    /** fio terse v3: read block at fields 6.., write block at 47.. (1-based); clat percentiles after clat. */
    private static Result parse(String[] f, boolean read, boolean latency) {
        if (!f[4].equals("0")) {
            throw new AssertionError("fio error " + f[4]);
        }
        int base = read ? 5 : 46; // 0-based index of the block's first field (kb)
        double kibPerSec = Double.parseDouble(f[base + 1]);
        double iops = Double.parseDouble(f[base + 2]);
        double p50 = 0;
        double p99 = 0;
        if (latency) {
            for (int i = base + 12; i < base + 32; i++) {
                if (f[i].startsWith("50.000000%=")) {
                    p50 = Double.parseDouble(f[i].substring(11));
                } else if (f[i].startsWith("99.000000%=")) {
                    p99 = Double.parseDouble(f[i].substring(11));
                }
            }
        }
        return new Result(iops, kibPerSec / 1024, p50, p99);
    }

    private static String table(Map<String, Map<String, Result>> results) {
        List<String> targets = new ArrayList<>(results.keySet());
        StringBuilder s = new StringBuilder("| workload |");
        targets.forEach(t -> s.append(' ').append(t).append(" |"));
        targets.stream().skip(1).forEach(t -> s.append(' ').append(t.substring(3)).append(" / A |"));
        s.append("\n|---|").append("---|".repeat(2 * targets.size() - 1)).append('\n');
        for (String[] w : WORKLOADS) {
            boolean seq = w[0].startsWith("seq");
            s.append("| ").append(w[0]).append(" |");
            for (String t : targets) {
                s.append(' ').append(results.get(t).get(w[0]).show(seq)).append(" |");
            }
            Result a = results.get(targets.get(0)).get(w[0]);
            for (String t : targets.subList(1, targets.size())) {
                Result c = results.get(t).get(w[0]);
                s.append(String.format(Locale.ROOT, " %.2fx |", seq ? c.mibPerSec() / a.mibPerSec() : c.iops() / a.iops()));
            }
            s.append('\n');
        }
        return s.toString();
    }
}
