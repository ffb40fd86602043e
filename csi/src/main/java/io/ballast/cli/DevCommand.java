package io.ballast.cli;

import io.ballast.cluster.ClusterBackend;
import io.ballast.csi.identity.BallastVersion;
import io.ballast.daemon.ControllerRuntime;
import io.ballast.daemon.NodeConfig;
import io.ballast.daemon.NodeRuntime;
import io.ballast.daemon.VolumeSpec;
import io.ballast.proto.v1.AdmitNode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ballast dev}: a whole cluster on this machine, for trying Ballast and for development. */
@Command(name = "dev", mixinStandardHelpOptions = true, versionProvider = BallastVersion.class,
        description = "A local Ballast cluster on loopback, for trying it out.",
        subcommands = {DevCommand.Up.class})
public final class DevCommand {

    @Command(name = "up", mixinStandardHelpOptions = true, description = {
        "Start a local cluster in this process: N storage nodes (the catalog on the first three), the CSI controller,",
        "and one replicated volume attached on n1 and served over NBD. Data lives under --dir; run it again to get",
        "the same cluster and volume back. Ctrl-C stops everything cleanly.",
        "",
        "Example:",
        "  ballast dev up                      # 3 nodes, volume vol1 (1 GiB, 3 replicas) under ./ballast-dev",
        "  nbdinfo \"$(cat ballast-dev/vol1.uri)\""})
    static final class Up implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--dir", defaultValue = "ballast-dev", paramLabel = "DIR",
                description = "Where the nodes keep their data (default: ${DEFAULT-VALUE}).")
        Path dir;

        @Option(names = "--nodes", defaultValue = "3", paramLabel = "N", description = "Storage nodes, 1-5 (default: ${DEFAULT-VALUE}).")
        int nodes;

        @Option(names = "--volume", defaultValue = "vol1:1G", paramLabel = "NAME:SIZE",
                description = "The volume to create (if absent) and attach on n1 (default: ${DEFAULT-VALUE}).")
        String volume;

        @Option(names = "--no-mount", description = "Do not mount the volume; serve it over NBD only (mounting needs root, /dev/fuse and loop devices).")
        boolean noMount;

        @Option(names = "--passphrase-file", paramLabel = "FILE",
                description = "Make the volume an encrypted one (encrypted on n1 before it is replicated; needs the mount) with "
                        + "the passphrase on FILE's first line, as a StorageClass with encrypted: \"true\" and a node-stage Secret would.")
        Path passphraseFile;

        @Option(names = "--plaintext", description = "No TLS on the raft and admin ports (by default the cluster gets its own CA "
                + "and certificates under DIR/tls, and the CLI run from here uses DIR/tls/cli).")
        boolean plaintext;

        @Option(names = "--base-port", defaultValue = "7100", paramLabel = "PORT",
                description = "Node i listens on PORT+10+i (raft) and PORT+20+i (admin) on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
        int basePort;

        @Override
        public Integer call() throws Exception {
            if (nodes < 1 || nodes > 5) {
                throw new ParameterException(spec.commandLine(), "--nodes must be 1 to 5, got " + nodes);
            }
            if (basePort < 1 || basePort + 35 > 65535) {
                throw new ParameterException(spec.commandLine(), "--base-port must leave room for 35 ports below 65536");
            }
            VolumeSpec vol = NodeCommand.parseVolume(spec, "--volume", volume);
            Path root = dir.toAbsolutePath();
            Files.createDirectories(root);
            // Five components logging at INFO would bury the few lines a person needs: they go to a
            // file (set before the first logger exists: slf4j-simple reads this once).
            System.setProperty("org.slf4j.simpleLogger.logFile", root.resolve("ballast.log").toString());
            Map<String, String> catalog = new LinkedHashMap<>();
            for (int i = 1; i <= Math.min(nodes, 3); i++) {
                catalog.put("n" + i, "127.0.0.1:" + (basePort + 10 + i));
            }
            List<AutoCloseable> running = new ArrayList<>();
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                for (int i = running.size() - 1; i >= 0; i--) {
                    try {
                        running.get(i).close();
                    } catch (Exception e) {
                        System.err.println("ballast dev: stopping " + running.get(i) + ": " + e);
                    }
                }
                stopped.countDown();
            }, "shutdown"));
            String whyNoMount = noMount ? "--no-mount" : DevMountSupport.missing();
            String passphrase = passphraseFile == null ? null : readPassphrase(passphraseFile);
            if (passphrase != null && whyNoMount != null) {
                throw new ParameterException(spec.commandLine(), "--passphrase-file: an encrypted volume is decrypted by the "
                        + "mount's node, and the volume cannot be mounted: " + whyNoMount);
            }
            DevCertificates certs = plaintext ? null : DevCertificates.ensure(root, nodes);
            for (int i = 1; i <= nodes; i++) {
                NodeConfig config = new NodeConfig(root.resolve("n" + i), "dev", "n" + i, root.resolve("n" + i + ".sock"),
                        null, List.of(), 4, new InetSocketAddress("127.0.0.1", basePort + 10 + i),
                        new InetSocketAddress("127.0.0.1", basePort + 20 + i), catalog, Map.of("zone", "z" + (i % 2)));
                if (whyNoMount == null) {
                    config = config.withCsiEndpoint("unix://" + root.resolve("n" + i + "-csi.sock"));
                }
                config = config.toBuilder().metricsListen(new InetSocketAddress("127.0.0.1", basePort + 30 + i))
                        .tls(certs == null ? null : TlsMaterial.of(TlsDir.of(certs.dirOf("n" + i)), "dev")).build();
                running.add(NodeRuntime.start(config));
            }
            if (nodes > catalog.size()) {
                admitBeyondCatalog(catalog, certs);
            }
            ControllerRuntime controller = ControllerRuntime.start(new ControllerRuntime.Config("dev", catalog,
                    "unix://" + root.resolve("csi.sock"), Duration.ofSeconds(10), Duration.ofMinutes(5), Duration.ofSeconds(10),
                    new InetSocketAddress("127.0.0.1", basePort + 30), certs == null ? null : certs.dirOf("controller")));
            running.add(controller);
            // The CLI run from this directory finds the cluster here (ClusterAddress); elsewhere: --cluster.
            List<String> admins = new ArrayList<>();
            for (int i = 1; i <= nodes; i++) {
                admins.add("127.0.0.1:" + (basePort + 20 + i));
            }
            Files.writeString(root.resolve("cluster"), String.join(",", admins) + "\n");
            ClusterBackend backend = controller.backend();
            var out = spec.commandLine().getOut();
            if (whyNoMount == null) {
                DevVolume placed = DevVolume.create(backend, nodes, vol, Math.min(nodes, 3), passphrase != null);
                Path mountPoint = root.resolve("mnt").resolve(vol.name());
                DevMount mount = new DevMount(root.resolve(placed.home() + "-csi.sock"), placed.id(),
                        root.resolve("staging").resolve(vol.name()), mountPoint, passphrase);
                mount.mount();
                running.add(mount); // unmounted first on Ctrl-C, while the nodes still run
                out.println("ballast dev cluster ready: " + nodes + " nodes under " + root + ", CSI unix://" + controller.socket());
                out.println("volume " + vol.name() + " (id " + placed.id() + ", " + ByteSize.format(vol.sizeBytes()) + ", "
                        + Math.min(nodes, 3) + " replicas on " + placed.placement() + (passphrase != null ? ", encrypted" : "")
                        + ") mounted as ext4 at:");
                out.println("  " + mountPoint + "      (ls it: hello-from-ballast.txt is on the volume)");
                printTryLines(out, root, admins, vol, certs);
                out.println("logs: " + root.resolve("ballast.log") + "; Ctrl-C unmounts and stops the cluster");
                out.flush();
                stopped.await();
                return 0;
            }
            DevVolume attached = DevVolume.createAndAttach(backend, nodes, vol, Math.min(nodes, 3),
                    certs == null ? null : TlsMaterial.of(TlsDir.of(certs.dirOf("controller")), "dev"));
            Files.writeString(root.resolve(vol.name() + ".uri"), attached.nbdUri() + "\n");
            if (!noMount) {
                out.println("not mounting the volume: that needs " + whyNoMount + "; serving it over NBD instead");
            }
            out.println("ballast dev cluster ready: " + nodes + " nodes under " + root + ", CSI unix://" + controller.socket());
            out.println("volume " + vol.name() + " (id " + attached.id() + ", " + ByteSize.format(vol.sizeBytes()) + ", "
                    + Math.min(nodes, 3) + " replicas on " + attached.placement() + ") attached on " + attached.home() + ":");
            out.println("  " + attached.nbdUri() + "      (also in " + root.resolve(vol.name() + ".uri") + ")");
            printTryLines(out, root, admins, vol, certs);
            out.println("logs: " + root.resolve("ballast.log") + "; Ctrl-C stops the cluster");
            out.flush();
            stopped.await();
            return 0;
        }

        /** Nodes n4 and up are not catalog members: dev up admits them, as an operator would. */
        private void admitBeyondCatalog(Map<String, String> catalog, DevCertificates certs) {
            RaftTls tls = RaftTls.of(certs == null ? null : TlsMaterial.of(TlsDir.of(certs.dirOf("controller")), "dev"));
            try (CatalogClient client = new CatalogClient("dev", catalog, Duration.ofSeconds(60), tls)) {
                for (int i = catalog.size() + 1; i <= nodes; i++) {
                    client.submit(CatalogCommand.newBuilder().setAdmitNode(AdmitNode.newBuilder().setNodeId("n" + i)).build());
                }
            }
        }

        private String readPassphrase(Path file) {
            try {
                String first = Files.readAllLines(file).stream().findFirst().orElse("").strip();
                if (first.isEmpty()) {
                    throw new ParameterException(spec.commandLine(), "--passphrase-file " + file + ": its first line is empty");
                }
                return first;
            } catch (java.io.IOException e) {
                throw new ParameterException(spec.commandLine(), "--passphrase-file " + file + ": cannot read it: " + e.getMessage());
            }
        }

        /** What to try next: the cluster view (from this directory, or with --cluster) and the metrics. */
        private void printTryLines(java.io.PrintWriter out, Path root, List<String> admins, VolumeSpec vol, DevCertificates certs) {
            boolean here = root.equals(ClusterAddress.DEV_FILE.toAbsolutePath().getParent());
            out.println("try: bin/ballast status" + (here ? "" : " --cluster " + String.join(",", admins))
                    + "      (also: bin/ballast volume status " + vol.name() + "; admin APIs " + String.join(" ", admins) + ")");
            String scheme = certs == null ? "http" : "https";
            List<String> urls = new ArrayList<>();
            urls.add(scheme + "://127.0.0.1:" + (basePort + 30) + "/metrics (controller)");
            for (int i = 1; i <= nodes; i++) {
                urls.add(scheme + "://127.0.0.1:" + (basePort + 30 + i) + "/metrics (n" + i + ")");
            }
            out.println("metrics: " + String.join(", ", urls));
            if (certs != null) {
                Path cli = certs.dirOf(DevCertificates.CLI);
                out.println("  (mutual TLS: curl --cacert " + cli.resolve(TlsDir.CA) + " --cert " + cli.resolve(TlsDir.CERT)
                        + " --key " + cli.resolve(TlsDir.KEY) + " URL)");
            }
        }
    }
}
